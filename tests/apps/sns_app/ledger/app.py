"""Writes each SQS record it received to the ledger queue, under its ``KIND``, one message per
batch (the batch's records in the order received)."""

import json
import os

import boto3


def handler(event, context):
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["LEDGER_QUEUE_URL"],
        MessageBody=json.dumps({os.environ["KIND"]: event["Records"]}),
    )
