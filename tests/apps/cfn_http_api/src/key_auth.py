"""A payload 2.0 authorizer answering IAM policies: ``X-Key: open-sesame`` may call anything."""


def handler(event, context):
    key = event["headers"].get("x-key")
    effect = "Allow" if key == "open-sesame" else "Deny"
    return {
        "principalId": "key-holder",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["routeArn"]}
            ],
        },
        "context": {"keyOwner": "fixture", "seenRouteArn": event["routeArn"]},
    }
