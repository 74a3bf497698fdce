"""Writes each SQS record it received (the raw SNS message) to the seen queue."""

import json
import os

import boto3


def handler(event, context):
    sqs = boto3.client("sqs")
    for record in event["Records"]:
        sqs.send_message(
            QueueUrl=os.environ["SEEN_QUEUE_URL"], MessageBody=json.dumps({"audit": record})
        )
