"""Ships an order (invoked asynchronously): announces it on the shop bus, or refuses an order
marked ``refuse`` with an error."""

import json
import os

import boto3

EVENTS = boto3.client("events")


def handler(event, context):
    if event.get("refuse"):
        raise RuntimeError(f"cannot ship order {event['id']}")
    EVENTS.put_events(
        Entries=[
            {
                "EventBusName": os.environ["BUS"],
                "Source": "shop.shipping",
                "DetailType": "OrderShipped",
                "Detail": json.dumps({"id": event["id"]}),
            }
        ]
    )
    return {"shipped": event["id"]}
