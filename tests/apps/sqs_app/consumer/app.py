"""Passes each order on to the done queue (the record as received), except the orders marked
``fail``: those are reported back as batch item failures."""

import json
import os

import boto3

SQS = boto3.client("sqs")


def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if order.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        SQS.send_message(QueueUrl=os.environ["DONE_QUEUE_URL"], MessageBody=json.dumps(record))
    return {"batchItemFailures": failures}
