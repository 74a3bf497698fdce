"""Records each click read from the stream."""

import base64
import json

from seen import record


def handler(event, context):
    for rec in event["Records"]:
        click = json.loads(base64.b64decode(rec["kinesis"]["data"]))
        record("kinesis", click["id"], rec)
