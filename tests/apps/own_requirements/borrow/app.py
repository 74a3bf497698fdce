"""Imports a package its own requirements do not name: on AWS this fails at init."""

import fastjsonschema


def handler(event, context):
    return {"version": fastjsonschema.VERSION}
