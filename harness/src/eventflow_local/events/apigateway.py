"""The API Gateway REST API proxy event (payload format 1.0), as Lambda receives it from a
``Type: Api`` route: "Input format of a Lambda function for proxy integration", API Gateway
developer guide
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format).

``headers`` and ``multiValueHeaders`` are maps, empty when the request has none: the page's
example event and Powertools' ``APIGatewayProxyEventModel`` (which a handler may parse the event
with) both have them as objects; ``queryStringParameters``, ``pathParameters`` and
``stageVariables`` are ``null`` when empty, as in the page's example.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from eventflow_local.aws import LOCAL_ACCOUNT


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: str | Mapping[str, str | Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    body: str | bytes | Mapping[str, Any] | list[Any] | None = None,
    stage: str = "v1",
    source_ip: str = "127.0.0.1",
    authorizer: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy integration event."""
    if isinstance(body, Mapping | list):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
    is_base64 = False
    if isinstance(body, bytes):
        raw = body
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw).decode(), True
    if isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
    elif query:
        pairs = [
            (k, v) for k, vals in query.items() for v in ([vals] if isinstance(vals, str) else vals)
        ]
    else:
        pairs = []
    multi_q: dict[str, list[str]] = {}
    for k, v in pairs:
        multi_q.setdefault(k, []).append(v)
    hdrs = dict(headers or {})
    multi_h = {k: [v] for k, v in hdrs.items()}
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": hdrs,
        "multiValueHeaders": multi_h,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": LOCAL_ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": source_ip,
                "userAgent": hdrs.get("User-Agent", hdrs.get("user-agent", "")),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                **(identity or {}),
            },
            "domainName": "localhost",
            "apiId": "local",
            **({"authorizer": dict(authorizer)} if authorizer else {}),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }
