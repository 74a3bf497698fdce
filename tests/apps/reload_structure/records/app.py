"""Counts each Kafka record value, DynamoDB stream key and SNS message it gets in NOTES_TABLE
(the test adds this function with its mappings or subscription): one delivered twice counts 2."""

import base64
import os

import boto3


def handler(event, context):
    ids = [
        base64.b64decode(record["value"]).decode()
        for batch in (event.get("records") or {}).values()
        for record in batch
    ]
    for record in event.get("Records") or []:
        if "Sns" in record:
            ids.append(f"sns:{record['Sns']['Message']}")
        else:
            ids.append(f"stream:{record['dynamodb']['Keys']['id']['S']}")
    client = boto3.client("dynamodb")
    for key in ids:
        client.update_item(
            TableName=os.environ["NOTES_TABLE"],
            Key={"id": {"S": key}},
            UpdateExpression="ADD seen :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    return {"counted": len(ids)}
