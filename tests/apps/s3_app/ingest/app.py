"""Records each S3 notification it receives on the seen queue."""

import json
import os

import boto3


def handler(event, context):
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["SEEN_QUEUE_URL"], MessageBody=json.dumps(event)
    )
