"""Counts the words of the event's text; says which Python ran it."""

import json
import sys


def handler(event, context):
    text = str(event.get("text", ""))
    count = len(text.split())  # breakpoint: handler
    result = {"words": count, "python": f"{sys.version_info[0]}.{sys.version_info[1]}"}
    if "httpMethod" in event:  # through the API
        return {"statusCode": 200, "body": json.dumps(result)}
    return result
