"""Handlers of the command line fixture app: they show what they were given."""

import json
import os
import sys

VISIBLE = ("GREETING", "STAGE", "COLOUR", "PREFIX", "UNDECLARED")


def _environment() -> dict:
    return {name: os.environ[name] for name in VISIBLE if name in os.environ}


def hello(event, context):
    print("hello was called", file=sys.stderr)
    body = {
        "message": f"{os.environ['GREETING']} from {os.environ['STAGE']}",
        "env": _environment(),
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def echo(event, context):
    print("a log line on stdout of the function")
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError(f"asked to fail: {event['fail']}")
    return {"prefix": os.environ["PREFIX"], "event": event, "env": _environment()}
