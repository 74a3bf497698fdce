"""Echo the HTTP API event back, with a CORS header of its own (API Gateway replaces it)."""

import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": "https://evil.example.com",
            "X-Served-By": "echo",
        },
        "body": json.dumps(event),
    }
