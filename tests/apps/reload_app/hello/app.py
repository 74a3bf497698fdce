import json
import os

MESSAGE = "version 1"


def handler(event, context):
    body = {"message": MESSAGE, "greeting": os.environ.get("GREETING"), "pid": os.getpid()}
    return {"statusCode": 200, "body": json.dumps(body)}
