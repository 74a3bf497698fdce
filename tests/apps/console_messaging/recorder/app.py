"""Writes to the seen queue, for each message, event or record it was given, where it came from
and what identifies it (the SNS message id, the EventBridge event id, the Kinesis sequence
number) with its content."""

import base64
import json
import os

import boto3

SQS = boto3.client("sqs")


def seen(event):
    if "detail-type" in event:
        yield {"via": "events", "id": event["id"], "source": event["source"], "body": event}
        return
    for record in event.get("Records", []):
        if record.get("EventSource") == "aws:sns":
            sns = record["Sns"]
            yield {"via": "sns", "id": sns["MessageId"], "subject": sns.get("Subject"), "body": sns}
        elif record.get("eventSource") == "aws:kinesis":
            kinesis = record["kinesis"]
            data = base64.b64decode(kinesis["data"]).decode()
            yield {
                "via": "kinesis",
                "id": kinesis["sequenceNumber"],
                "key": kinesis["partitionKey"],
                "data": data,
            }


def handler(event, context):
    for item in seen(event):
        SQS.send_message(QueueUrl=os.environ["SEEN_QUEUE_URL"], MessageBody=json.dumps(item))
