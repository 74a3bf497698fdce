"""Takes a batch of orders: an order marked ``fail`` is reported as a batch item failure; an order
to ``ship`` is handed to the shipper, invoked asynchronously; each attempt is recorded."""

import json
import os

import boto3
from seen import record

LAMBDA = boto3.client("lambda")


def handler(event, context):
    failures = []
    for message in event["Records"]:
        order = json.loads(message["body"])
        attempt = message["attributes"]["ApproximateReceiveCount"]
        record("sqs", f"{order['id']}#{attempt}", message)
        if order.get("fail"):
            failures.append({"itemIdentifier": message["messageId"]})
        elif order.get("ship"):
            LAMBDA.invoke(
                FunctionName=os.environ["SHIPPER"],
                InvocationType="Event",
                Payload=json.dumps(order).encode(),
            )
    return {"batchItemFailures": failures}
