"""Runs from a .zip deployment package; imports a module packed next to it."""

import json
import os

from lib.loud import loud


def handler(event, context):
    word = event["pathParameters"]["word"]
    body = {"word": loud(word), "taskRoot": os.environ["LAMBDA_TASK_ROOT"], "cwd": os.getcwd()}
    return {"statusCode": 200, "body": json.dumps(body)}
