"""Pages someone about a critical reading; the pager is down, so every invocation fails."""

import json


def handler(event, context):
    reading = json.loads(event["Records"][0]["Sns"]["Message"])
    raise ConnectionError(f"pager unreachable for reading {reading['id']}")
