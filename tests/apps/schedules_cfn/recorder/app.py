"""Logs and returns what the schedule delivered, so the test can compare it with what AWS sends."""

import json


def handler(event, context):
    print("received " + json.dumps(event, sort_keys=True))
    return {"received": event}
