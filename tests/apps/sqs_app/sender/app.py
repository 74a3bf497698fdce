"""Sends each order of the event to the orders queue, with its kind as a message attribute."""

import json
import os

import boto3

SQS = boto3.client("sqs")


def handler(event, context):
    ids = []
    for order in event["orders"]:
        answer = SQS.send_message(
            QueueUrl=os.environ["QUEUE_URL"],
            MessageBody=json.dumps(order),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": order["kind"]}},
        )
        ids.append(answer["MessageId"])
    return {"sent": ids}
