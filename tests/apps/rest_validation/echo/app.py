"""Echoes what API Gateway passed on: method, resource, path, parameters, stage variables, body."""

import json


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {
                "method": event["httpMethod"],
                "resource": event["resource"],
                "path": event["path"],
                "pathParameters": event["pathParameters"],
                "query": event["queryStringParameters"],
                "stageVariables": event["stageVariables"],
                "stage": event["requestContext"]["stage"],
                "body": event["body"],
            }
        ),
    }
