"""Echoes what API Gateway sent: the route, the path parameters, and whether an authorizer
context is present (it must not be, for a template without Auth)."""

import json


def handler(event, context):
    request = event["requestContext"]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {
                "method": event["httpMethod"],
                "resource": event["resource"],
                "pathParameters": event["pathParameters"],
                "body": event["body"],
                "hasAuthorizer": "authorizer" in request,
                "authorizer": request.get("authorizer"),
                "apiKey": request["identity"].get("apiKey"),
                "apiKeyId": request["identity"].get("apiKeyId"),
            }
        ),
    }
