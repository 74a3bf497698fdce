"""Stores each batch's item ids, then fails when the batch holds an item marked poison."""

import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["BATCHES_TABLE"])


def handler(event, context):
    ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
    TABLE.put_item(Item={"id": context.aws_request_id, "ids": ids})
    if any("poison" in r["dynamodb"].get("NewImage", {}) for r in event["Records"]):
        raise ValueError("poison item in the batch")
