"""Writes what it is given (the ledger's invocation records) to the audit queue."""

import json
import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["AUDIT_QUEUE_URL"], MessageBody=json.dumps(event))
    return {"audited": event.get("requestContext", {}).get("requestId")}
