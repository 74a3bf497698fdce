"""Fixture authorizers. The TOKEN one answers by token:

- ``Bearer wide``: Allow on every method of the API's stage, with a context;
- ``Bearer narrow``: Allow on the one method ARN it was called for (cached: other routes refused);
- ``Bearer deny``: an explicit Deny;
- ``Bearer unauthorized``: raises ``Unauthorized`` (API Gateway answers 401);
- ``Bearer broken``: raises another error (500);
- ``Bearer nested-context``: a context holding an object (500, as API Gateway refuses it).

The REQUEST one allows user ``ann`` of tenant ``acme`` on the method and echoes what it received.
"""


def _policy(principal, effect, resource, context=None):
    out = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context is not None:
        out["context"] = context
    return out


def token_handler(event, context):
    assert event["type"] == "TOKEN", event
    token = event["authorizationToken"].split(" ", 1)[1]
    arn = event["methodArn"]
    prefix, _, rest = arn.partition("/")
    stage = rest.split("/", 1)[0]
    if token == "wide":
        return _policy(
            "user-ann", "Allow", f"{prefix}/{stage}/*/*", {"user": "ann", "admin": True, "level": 3}
        )
    if token == "narrow":
        return _policy("user-ann", "Allow", arn, {"user": "ann"})
    if token == "deny":
        return _policy("user-ann", "Deny", arn)
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "nested-context":
        return _policy("user-ann", "Allow", arn, {"nested": {"a": 1}})
    raise ValueError(f"unknown token {token}")


def request_handler(event, context):
    assert event["type"] == "REQUEST", event
    user = event["headers"].get("X-User") or event["headers"].get("x-user")
    tenant = event["queryStringParameters"]["tenant"]
    effect = "Allow" if (user, tenant) == ("ann", "acme") else "Deny"
    return _policy(
        user,
        effect,
        event["methodArn"],
        {
            "tenant": tenant,
            "resource": event["resource"],
            "path": event["path"],
            "pathId": event["pathParameters"]["id"],
            "httpMethod": event["httpMethod"],
        },
    )
