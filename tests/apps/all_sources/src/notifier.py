"""Records each notice the filtered SNS subscription delivers."""

import json

from seen import record


def handler(event, context):
    for rec in event["Records"]:
        record("sns", json.loads(rec["Sns"]["Message"])["id"], rec)
