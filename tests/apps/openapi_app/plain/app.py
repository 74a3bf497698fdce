"""A plain handler: no resolver, so nothing to describe."""


def handler(event, context):
    return {"statusCode": 200, "body": '{"pong": true}'}
