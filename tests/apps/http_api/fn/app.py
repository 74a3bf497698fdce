"""Echo the HTTP API event back; ``plain`` returns a bare JSON value (no statusCode)."""

import json


def echo(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "cookies": ["seen=1; Path=/"],
        "body": json.dumps(event),
    }


def plain(event, context):
    return {"count": 3, "route": event["routeKey"]}
