"""Records each upload the bucket's notification names."""

from urllib.parse import unquote_plus

from seen import record


def handler(event, context):
    for rec in event["Records"]:
        record("s3", unquote_plus(rec["s3"]["object"]["key"]), rec)
