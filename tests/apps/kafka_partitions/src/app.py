"""Stores one item per invocation: the topic-partitions of the event and how many records each."""

import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["INVOCATIONS_TABLE"])


def handler(event, context):
    counts = {key: len(records) for key, records in event["records"].items()}
    TABLE.put_item(Item={"id": context.aws_request_id, "counts": counts})
