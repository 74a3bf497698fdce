"""Records each order read from Kafka in the orders table (values are JSON objects)."""

import base64
import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def handler(event, context):
    for records in event["records"].values():
        for record in records:
            order = json.loads(base64.b64decode(record["value"]))
            table.put_item(
                Item={
                    "orderId": str(order["orderId"]),
                    "item": str(order.get("item", "")),
                    "source": f"{record['topic']}-{record['partition']}@{record['offset']}",
                }
            )
