"""A payload 1.0 Lambda authorizer answering IAM policies.

``Bearer reader`` may only GET (any path); ``Bearer admin`` may do anything; ``Bearer banned`` is
denied explicitly. Each answer's context counts the calls, so a cached answer shows.
"""

CALLS = {"n": 0}


def handler(event, context):
    CALLS["n"] += 1
    token = event["authorizationToken"].removeprefix("Bearer ")
    api = event["methodArn"].split("/")[0]
    if token == "admin":
        statement = {"Effect": "Allow", "Resource": f"{api}/*"}
    elif token == "reader":
        statement = {"Effect": "Allow", "Resource": f"{api}/*/GET/*"}
    else:
        statement = {"Effect": "Deny", "Resource": f"{api}/*"}
    return {
        "principalId": f"user-{token}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", **statement}],
        },
        "context": {
            "role": token,
            "calls": CALLS["n"],
            "seenVersion": event["version"],
            "seenType": event["type"],
            "seenIdentity": event["identitySource"],
            "seenResource": event["resource"],
        },
    }
