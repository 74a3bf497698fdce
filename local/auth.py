"""Authorization of the local API, standing in for API Gateway's authorizers.

The deployed template protects every write route (POST/PUT/PATCH/DELETE) with IAM auth by
default, or the Cognito / Lambda authorizer chosen by the ``ApiAuth`` parameter; reads are open.
Locally the harness checks a bearer token instead: send ``Authorization: Bearer <token>`` where
the token is ``LOCAL_API_TOKEN`` (default ``local-dev-token``). No header answers 401
``{"message": "Unauthorized: ..."}`` (with a hint); a wrong token answers 403 ``{"message": "Forbidden"}``, as API
Gateway's authorizers do. ``LOCAL_API_TOKEN=`` (empty) turns the check off.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

DEFAULT_TOKEN = "local-dev-token"
LOCAL_TOKEN = os.environ.get("LOCAL_API_TOKEN", DEFAULT_TOKEN)


def local_token() -> str:
    return os.environ.get("LOCAL_API_TOKEN", DEFAULT_TOKEN)


def auth_headers(token: str | None = None) -> dict[str, str]:
    """Headers a local client sends on write requests."""
    return {"Authorization": f"Bearer {token if token is not None else local_token()}"}


def check(headers: Mapping[str, str], token: str | None) -> tuple[int, str] | None:
    """None when allowed; else (status, message) as API Gateway would answer."""
    if not token:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
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
