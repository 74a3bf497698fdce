"""Handlers of the invoke fixture app: a greeting, and notes kept in the table."""

import json
import os

import boto3


def greet(event, context):
    name = (event or {}).get("name")
    if not name:
        raise ValueError("no name to greet")
    return {"message": f"{os.environ['GREETING']}, {name}", "requestId": context.aws_request_id}


def note(event, context):
    """A note ``{"id", "text"}`` put in the table; from the API (a POST body) or invoked."""
    from_api = isinstance(event, dict) and "httpMethod" in event
    item = json.loads(event.get("body") or "{}") if from_api else event
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    table.put_item(Item={"id": str(item["id"]), "text": str(item.get("text", ""))})
    if from_api:
        return {"statusCode": 201, "body": json.dumps({"stored": item["id"]})}
    return {"stored": item["id"]}
