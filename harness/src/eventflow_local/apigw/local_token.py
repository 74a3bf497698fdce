"""Stand-ins for what cannot be checked offline (IAM signatures, Cognito tokens), and API keys.

``AWS_IAM`` needs a SigV4 signature checked against IAM; a Cognito authorizer needs a token
signed by the user pool. Neither can be verified on a laptop, so the routes that use them need
the local token instead: ``Authorization: Bearer <token>`` where the token is
``LOCAL_API_TOKEN`` (default ``local-dev-token``). No header answers 401 (with a hint), a wrong
token 403 ``{"message": "Forbidden"}``. ``LOCAL_API_TOKEN=`` (empty) opens those routes. The
harness says so once at start-up, naming the routes.

API keys (``ApiKeyRequired``): as API Gateway, a request without a valid ``x-api-key`` header
answers 403 ``{"message": "Forbidden"}``
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Mapping

DEFAULT_TOKEN = "local-dev-token"
LOCAL_PRINCIPAL = "local-api-client"


def local_token() -> str:
    return os.environ.get("LOCAL_API_TOKEN", DEFAULT_TOKEN)


def auth_headers(token: str | None = None) -> dict[str, str]:
    """Headers a local client sends to routes that need the local token."""
    return {"Authorization": f"Bearer {token if token is not None else local_token()}"}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def check(headers: Mapping[str, str], token: str | None) -> tuple[int, str] | None:
    """None when allowed; else (status, message) for a route that needs the local token."""
    if not token:
        return None
    value = _header(headers, "authorization")
    if not value:
        return (
            401,
            "Unauthorized: send 'Authorization: Bearer <LOCAL_API_TOKEN>' (default local-dev-token)",
        )
    scheme, _, given = value.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return 403, "Forbidden"
    return None


def check_api_key(headers: Mapping[str, str], keys: Iterable[str]) -> str | None:
    """The accepted key sent in ``x-api-key``, or None (API Gateway then answers 403)."""
    given = _header(headers, "x-api-key")
    if not given:
        return None
    for key in keys:
        if hmac.compare_digest(given.encode(), key.encode()):
            return key
    return None
