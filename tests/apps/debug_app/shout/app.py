"""Shouts the event's text with the layer's module; says which Python ran it."""

import json
import sys

import words


def handler(event, context):
    body = event.get("body")
    text = json.loads(body)["text"] if body else str(event.get("text", ""))
    loud = words.shout(text)  # breakpoint: handler
    result = {"shout": loud, "python": f"{sys.version_info[0]}.{sys.version_info[1]}"}
    if body is not None:  # through the API
        return {"statusCode": 200, "body": json.dumps(result)}
    return result
