"""Passes each reading on to the done queue (the record as received), except the readings marked
``fail``: those are reported back as batch item failures (by sequence number)."""

import base64
import json
import os

import boto3

SQS = boto3.client("sqs")


def handler(event, context):
    failures = []
    for record in event["Records"]:
        reading = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if reading.get("fail"):
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
            break  # the records after it come again with it
        SQS.send_message(QueueUrl=os.environ["DONE_QUEUE_URL"], MessageBody=json.dumps(record))
    return {"batchItemFailures": failures}
