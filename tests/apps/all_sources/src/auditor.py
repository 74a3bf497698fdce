"""Records each notice that reaches the auditor's queue (the SNS envelope as the body)."""

import json

from seen import record


def handler(event, context):
    for message in event["Records"]:
        envelope = json.loads(message["body"])
        record("audit", json.loads(envelope["Message"])["id"], envelope)
