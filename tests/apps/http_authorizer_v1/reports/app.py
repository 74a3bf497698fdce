"""Echo the event back (payload 1.0 or 2.0, whichever the route sends)."""

import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(event),
    }
