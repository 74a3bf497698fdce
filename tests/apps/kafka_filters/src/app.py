"""Stores every Kafka record it receives (topic-partition, offset, value as text)."""

import base64
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["RECEIVED_TABLE"])


def handler(event, context):
    for key, records in event["records"].items():
        for record in records:
            value = base64.b64decode(record["value"]).decode("utf-8", "replace")
            TABLE.put_item(Item={"id": f"{key}@{record['offset']}", "value": value})
    return {"batchItemFailures": []}
