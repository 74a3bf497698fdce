"""HTTP edge shared by every API function.

``make_resolver()`` returns a Powertools ``APIGatewayRestResolver`` with request validation on
(pydantic models in route signatures), and one mapping from errors to responses:

=============================  ======  =================================================
error                          status  body
=============================  ======  =================================================
RequestValidationError         422     ``{"message": "<field>: <problem>", "errors": [...]}``
InvalidRequestError            400     ``{"message": ...}``
NotFoundError                  404     ``{"message": ...}``
ConflictError                  409     ``{"message": ...}``
PayloadTooLargeError           413     ``{"message": ...}``
TransientError                 503     ``{"message": "... try again"}``
anything else                  500     ``{"message": "internal error", "requestId": ...}``
=============================  ======  =================================================
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, create_model

from eventflow.errors import (
    DomainError,
    InvalidRequestError,
    PayloadTooLargeError,
    TransientError,
    UnsupportedMediaTypeError,
)
from eventflow.observability import logger

JSON = "application/json"
MAX_BODY_BYTES = 64 * 1024
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def json_response(status_code: int, body: Any) -> Response[Any]:
    return Response(
        status_code=status_code,
        content_type=JSON,
        body=body,
    )


def error_response(status_code: int, message: str, **extra: Any) -> Response:
    return json_response(status_code, {"message": message, **extra})


def _describe_validation_error(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    field = ".".join(loc) if loc else "body"
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "request body is not valid JSON"
    if kind == "missing":
        return f"{field}: field required"
    if kind == "extra_forbidden":
        return f"{field}: unknown field"
    return f"{field}: {error.get('msg', 'invalid value')}"


def _clean_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        cleaned.append(
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
                "message": _describe_validation_error(err),
                "type": err.get("type"),
            }
        )
    return cleaned


class RestApi(APIGatewayRestResolver):
    """The Powertools REST resolver, with the body checks API Gateway cannot express done first
    (before request validation parses the body): size cap (413) and JSON content type (415)."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        try:
            check_body(event)
        except DomainError as ex:
            return {
                "statusCode": ex.status_code,
                "headers": {"Content-Type": JSON},
                "body": json.dumps({"message": ex.message}),
                "isBase64Encoded": False,
            }
        return super().resolve(event, context)


def make_resolver() -> RestApi:
    app = RestApi(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def _validation(ex: RequestValidationError) -> Response:
        errors = list(ex.errors())
        message = "; ".join(_describe_validation_error(e) for e in errors) or "invalid request"
        return error_response(422, message, errors=_clean_errors(errors))

    @app.exception_handler(DomainError)
    def _domain(ex: DomainError) -> Response:
        return error_response(ex.status_code, ex.message, **ex.details)

    @app.exception_handler(TransientError)
    def _transient(ex: TransientError) -> Response:
        logger.warning("transient failure", exc_info=ex)
        return error_response(503, f"temporarily unavailable, try again: {ex}")

    @app.not_found
    def _not_found(_: Exception) -> Response:
        event = app.current_event
        return error_response(404, f"no route for {event.http_method} {event.path}")

    @app.exception_handler(Exception)
    def _unexpected(ex: Exception) -> Response:
        logger.exception("unhandled error")
        request_id = app.lambda_context.aws_request_id if app.lambda_context else None
        return error_response(500, "internal error", requestId=request_id)

    return app


def check_body(event: Mapping[str, Any]) -> None:
    """Raise 413 for bodies over MAX_BODY_BYTES, 415 for non-JSON content types, 400 for bodies
    that are not UTF-8 text."""
    body = event.get("body") or ""
    if len(body.encode() if isinstance(body, str) else body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"request body exceeds {MAX_BODY_BYTES} bytes")
    if body and event.get("isBase64Encoded"):
        try:
            base64.b64decode(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequestError("request body is not UTF-8 encoded JSON") from None
    if body:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        ctype = headers.get("content-type", JSON).split(";")[0].strip().lower()
        if ctype and ctype != JSON and not ctype.endswith("+json"):
            raise UnsupportedMediaTypeError(f"content-type must be application/json, got {ctype}")


def check_id(value: str, what: str = "id") -> str:
    if not ID_PATTERN.match(value):
        raise InvalidRequestError(
            f"{what} must be 1-64 characters of letters, digits, '-' or '_'", field=what
        )
    return value


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(value, dict) or not all(
            isinstance(v, str | int | float) for v in value.values()
        ):
            raise ValueError
        return value
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidRequestError(
            "nextToken is invalid; pass the value a previous page returned", field="nextToken"
        ) from None


def page(items: list[dict[str, Any]], last_key: dict[str, Any] | None) -> dict[str, Any]:
    return {"items": items, "nextToken": encode_token(last_key)}


# ------------------------------------------------------------------------------------ OpenAPI
class FieldProblem(BaseModel):
    field: str
    message: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every error response: ``message`` says what was wrong; 422s list each field's problem."""

    message: str
    errors: list[FieldProblem] | None = None


ERROR_DESCRIPTIONS = {
    400: "Invalid request (bad id, bad nextToken, nothing to do)",
    401: "Missing credentials",
    403: "Credentials not accepted",
    404: "No such resource",
    409: "Conflicts with the resource's current state",
    413: f"Body larger than {MAX_BODY_BYTES} bytes",
    415: "Body is not application/json",
    422: "Validation failed; message and errors name each field",
    503: "Temporarily unavailable; retry",
}


def openapi_responses(
    ok: int, model: Any, *errors: int, description: str = "Success"
) -> dict[int, Any]:
    """``responses=`` for a Powertools route: the success body and every error it can return."""
    out: dict[int, Any] = {}
    if model is None:
        out[ok] = {"description": description}
    else:
        out[ok] = {"description": description, "content": {JSON: {"model": model}}}
    for code in (*errors, 503):
        out[code] = {
            "description": ERROR_DESCRIPTIONS[code],
            "content": {JSON: {"model": ErrorBody}},
        }
    return out


def page_model(item: Any, name: str) -> Any:
    """``{"items": [item], "nextToken": str | null}`` as a named pydantic model."""
    return create_model(name, items=(list[item], ...), nextToken=(str | None, None))
