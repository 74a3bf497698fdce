"""A REQUEST authorizer (payload 2.0, simple responses) that lets in one shared secret."""


def handler(event, context):
    headers = event.get("headers") or {}
    return {"isAuthorized": headers.get("x-secret") == "open-sesame"}
