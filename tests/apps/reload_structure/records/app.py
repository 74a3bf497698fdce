"""Counts each Kafka record value and each DynamoDB stream key it gets in NOTES_TABLE (the test
adds this function with its mappings): a record delivered twice counts 2."""

import base64
import os

import boto3


def handler(event, context):
    ids = [
        base64.b64decode(record["value"]).decode()
        for batch in (event.get("records") or {}).values()
        for record in batch
    ]
    ids += [f"stream:{r['dynamodb']['Keys']['id']['S']}" for r in event.get("Records") or []]
    client = boto3.client("dynamodb")
    for key in ids:
        client.update_item(
            TableName=os.environ["NOTES_TABLE"],
            Key={"id": {"S": key}},
            UpdateExpression="ADD seen :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    return {"counted": len(ids)}
