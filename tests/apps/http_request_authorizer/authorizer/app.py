"""A Lambda REQUEST authorizer for an HTTP API (payload 2.0, simple responses).

``X-User`` names the caller and the ``tenant`` query string the tenant: only tenant ``acme`` is
authorized, and ``mallory`` never is. ``X-User: boom`` makes the authorizer fail and
``X-User: shapeless`` makes it answer something that is not a simple response.
"""


def handler(event, context):
    user = event["headers"].get("x-user")
    tenant = (event.get("queryStringParameters") or {}).get("tenant")
    if user == "boom":
        raise RuntimeError("authorizer failed")
    if user == "shapeless":
        return {"allowed": True}
    return {
        "isAuthorized": tenant == "acme" and user != "mallory",
        "context": {
            "user": user,
            "tenant": tenant,
            "seenIdentity": event["identitySource"],
            "seenRouteKey": event["routeKey"],
            "seenType": event["type"],
            "seenVersion": event["version"],
            "seenStage": event["requestContext"]["stage"],
        },
    }
