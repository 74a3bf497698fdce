"""The answers API Gateway gives itself (gateway responses), with an API's customisations.

Each has a type, a default status and the body ``{"message": <text>}``
(https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
An API customises a type with ``x-amazon-apigateway-gateway-responses`` (SAM's
``GatewayResponses``) or ``AWS::ApiGateway::GatewayResponse``: its ``statusCode``, static
``gatewayresponse.header.*`` headers and an ``application/json`` template, in which
``$context.error.messageString`` (the quoted message), ``$context.error.message`` and
``$context.error.responseType`` are replaced
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html).
A type without its own customisation takes the API's ``DEFAULT_4XX`` / ``DEFAULT_5XX`` one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from eventflow_local.apigw.definition import GatewayResponse

Response = tuple[int, dict[str, list[str]], bytes]

#: type -> default status
DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 500,
}


def answer(
    kind: str,
    message: str | None,
    customised: Mapping[str, GatewayResponse] | None = None,
    *,
    status: int | None = None,
    headers: Mapping[str, list[str]] | None = None,
) -> Response:
    """The response of gateway response type ``kind`` (``status``: when the type's default does
    not say it, e.g. a proxy integration's 502)."""
    code = status or DEFAULT_STATUS.get(kind, 500)
    out_headers: dict[str, list[str]] = {"Content-Type": ["application/json"], **(headers or {})}
    body = json.dumps({"message": message}).encode()
    customised = customised or {}
    spec = customised.get(kind) or customised.get("DEFAULT_5XX" if code >= 500 else "DEFAULT_4XX")
    if spec is None:
        return code, out_headers, body
    if spec.status is not None:
        code = spec.status
    for name, value in spec.headers:
        out_headers[name] = [value]
    if spec.template is not None:
        body = (
            spec.template.replace("$context.error.messageString", json.dumps(message))
            .replace("$context.error.message", message or "")
            .replace("$context.error.responseType", kind)
            .encode()
        )
    return code, out_headers, body
