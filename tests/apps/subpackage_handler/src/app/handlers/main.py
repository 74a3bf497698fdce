"""The API handler, two packages deep under CodeUri."""

import json

from app.greeting import greet


def lambda_handler(event, context):
    name = event["pathParameters"]["name"]
    return {"statusCode": 200, "body": json.dumps({"message": greet(name), "module": __name__})}
