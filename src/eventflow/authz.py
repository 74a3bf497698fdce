"""Bearer-token authorization for the API's write routes (the template's Lambda authorizer).

The expected token lives in a Secrets Manager secret that the template generates (nothing secret
is in the repository); it is read once per execution environment and compared in constant time.
"""

from __future__ import annotations

import hmac
from typing import Any


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def is_allowed(header: str | None, expected: str) -> bool:
    token = bearer_token(header)
    return (
        token is not None
        and bool(expected)
        and hmac.compare_digest(token.encode(), expected.encode())
    )


def api_resource(method_arn: str) -> str:
    """Every method of the API and stage that ``method_arn`` belongs to:
    ``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/*/*``.

    API Gateway caches an authorizer's policy per token (``ReauthorizeEvery``) and applies the
    cached policy to every method the token is then used on; a policy naming only the method it
    was first called for would refuse the API's other protected methods (403) until it expires.
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html)
    """
    prefix, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0]
    if not prefix.startswith("arn:") or not stage:
        raise ValueError(f"not a method ARN: {method_arn!r}")
    return f"{prefix}/{stage}/*/*"


def policy(principal: str, effect: str, method_arn: str) -> dict[str, Any]:
    """An API Gateway authorizer response for ``method_arn`` (Allow or Deny)."""
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}
            ],
        },
    }
