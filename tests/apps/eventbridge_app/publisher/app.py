"""Puts each order of the event on the orders bus; answers the event ids and the bus's ARN."""

import json
import os

import boto3


def handler(event, context):
    answer = boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": os.environ["BUS"],
                "Source": "shop.orders",
                "DetailType": "Order paid",
                "Detail": json.dumps(order),
            }
            for order in event["orders"]
        ]
    )
    return {
        "ids": [entry.get("EventId") for entry in answer["Entries"]],
        "failed": answer["FailedEntryCount"],
        "busArn": os.environ["BUS_ARN"],
    }
