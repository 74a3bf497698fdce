"""Writes each SQS message body to NOTES_TABLE (the table is added with this function)."""

import os

import boto3


def handler(event, context):
    client = boto3.client("dynamodb")
    for record in event["Records"]:
        item = {"id": {"S": record["body"]}, "by": {"S": "jobs"}}
        client.put_item(TableName=os.environ["NOTES_TABLE"], Item=item)
    return {"written": len(event["Records"])}
