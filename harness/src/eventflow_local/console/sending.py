"""What the console's endpoints that send something to the embedded emulator share: the local
token, a body of at most a service's size, a JSON object, the emulator's client, and an answer in
one line for each thing that can be wrong.

A send endpoint answers 413 (too large: the body is read and dropped first, so that the client
sees the answer rather than a broken pipe), 401/403 (no or a wrong local token, as the API's
protected routes: ``apigw/local_token.py``), 404 (no such queue, topic, bus or stream in the
template), 400 (not JSON, a field missing or of the wrong type, or what the service itself
refused, as ``<Code>: <Message>``) or 503 (no embedded emulator on this stack), each as
``{"message": "..."}``; never a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from eventflow_local.apigw.local_token import check as check_auth
from eventflow_local.httpserver import read_body

Reply = tuple[int, Any]


class Refused(Exception):
    """A request the console does not carry out, with its status and one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def answering(handler: Callable[..., Reply]) -> Callable[..., Reply]:
    """``handler``, its ``Refused`` and the service's refusals (botocore's ``ClientError``)
    answered as ``{"message"}`` with their status."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Reply:
        from botocore.exceptions import ClientError

        try:
            return handler(*args, **kwargs)
        except Refused as exc:
            return exc.status, {"message": str(exc)}
        except ClientError as exc:
            return 400, {"message": service_error(exc)}

    return wrapped


def service_error(exc: Any) -> str:
    """``<Code>: <Message>`` of a botocore ``ClientError``."""
    error = exc.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}"


def authorized_body(req: BaseHTTPRequestHandler, token: str | None, limit: int) -> bytes:
    """The request's body, once the local token is checked (``Refused`` 413, 401 or 403)."""
    length = int(req.headers.get("Content-Length") or 0)
    if length > limit:
        _drop(req, length)
        raise Refused(413, f"a request of this endpoint is at most {limit} bytes")
    raw = read_body(req)
    denied = check_auth(dict(req.headers.items()), token)
    if denied is not None:
        raise Refused(*denied)
    return raw


def _drop(req: BaseHTTPRequestHandler, length: int) -> None:
    """Read a too-large body (up to 16 MiB, else close the connection after the answer)."""
    if length > 16 * 1024 * 1024:
        req.close_connection = True
        return
    while length > 0:
        chunk = req.rfile.read(min(length, 65536))
        if not chunk:
            break
        length -= len(chunk)


def json_object(raw: bytes, usage: str) -> dict[str, Any]:
    """``raw`` as a JSON object (``Refused`` 400 naming what to send)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise Refused(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Refused(400, f"the body is a JSON object: send {usage}")
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool, most: int) -> str | None:
    """``body[name]``: a string of 1 to ``most`` bytes (None when absent and not required)."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise Refused(400, f"{name}: a non-empty string is required")
        return None
    if not isinstance(value, str):
        raise Refused(400, f"{name}: must be a string")
    if len(value.encode()) > most:
        raise Refused(400, f"{name}: at most {most} bytes")
    return value


def emulator_client(stack: Any, service: str) -> Any:
    """A client of ``service`` on the stack's embedded emulator (``Refused`` 503 without one)."""
    dynamo = getattr(stack, "dynamo", None)
    if dynamo is None or not dynamo.emulates_services:
        raise Refused(503, f"no embedded emulator serves {service} in this stack")
    return dynamo.client(service)
