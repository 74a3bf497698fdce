"""API Gateway HTTP APIs: routes, route selection, the payload format 2.0 event and response.

A route is ``METHOD /path`` (``ANY`` and path variables allowed, ``{proxy+}`` greedy and last) or
``$default``, which takes every request no other route matches. Of the routes that match a request,
the most specific wins: compared segment by segment, a literal segment beats a ``{variable}``,
which beats a greedy ``{proxy+}``; for the same path a route of the request's method beats ``ANY``
("Working with routes for HTTP APIs": full match, then a greedy path variable, then ``$default``).
No route: 404 ``{"message":"Not Found"}`` (HTTP APIs have no 405).

With payload format 2.0 the function receives the 2.0 event (``version``, ``routeKey``,
``rawPath``, ``rawQueryString``, ``cookies``, lower-case ``headers`` with repeated values joined by
commas, ``queryStringParameters`` likewise, ``requestContext.http``, ``stageVariables``,
``requestContext.authorizer``) and may answer either a response object (``statusCode``,
``headers``, ``cookies``, ``body``, ``isBase64Encoded``) or any other JSON value, which becomes a 200
``application/json`` body. ``1.0`` sends the REST proxy event with ``version: "1.0"``. A function
error answers 500 ``{"message":"Internal Server Error"}``.

Where the routes come from: ``eventflow_local.apigw.http_definition`` (what CloudFormation
deploys); how a request is served: ``eventflow_local.apigw.http_gateway``.

Sources: "Working with AWS Lambda proxy integrations for HTTP APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
"Working with routes for HTTP APIs" (.../http-api-develop-routes.html).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.httpserver import result_body

DEFAULT_ROUTE = "$default"
_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class HttpAuthorizerSpec:
    """One authorizer of one HTTP API: a Lambda ``REQUEST`` authorizer or a ``JWT`` one."""

    api: str
    name: str
    kind: str  # REQUEST | JWT
    function: str | None = None  # the template's function a REQUEST authorizer runs
    payload_version: str = "2.0"
    simple_responses: bool = False
    identity_sources: tuple[str, ...] = ()  # $request.header.X, $request.querystring.y, ...
    ttl: int = 0  # authorizerResultTtlInSeconds; 0 = no cache

    @property
    def is_lambda(self) -> bool:
        return self.kind == "REQUEST" and self.function is not None


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str | None  # None: the $default route
    function: str  # "" for an AWS service integration (not emulated)
    event: str  # the route's name where it is declared (its route key)
    api: str
    payload_version: str = "2.0"
    authorization: str = "NONE"  # NONE | CUSTOM (Lambda) | JWT | AWS_IAM
    authorizer: HttpAuthorizerSpec | None = None

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path is None else f"{self.method} {self.path}"

    @property
    def protected(self) -> bool:
        """An authorizer that cannot run here (JWT, IAM, another stack's Lambda): the local
        token stands in."""
        if self.authorizer is not None:
            return not self.authorizer.is_lambda
        return self.authorization == "AWS_IAM"

    def specificity(self) -> tuple[Any, ...]:
        """Smaller is more specific: segment by segment literal < {var} < {greedy+}, then a
        method of its own before ANY; $default after everything."""
        if self.path is None:
            return (1,)
        ranks = tuple(
            _GREEDY if s.endswith("+}") else _VARIABLE if s.startswith("{") else _LITERAL
            for s in self.path.strip("/").split("/")
        )
        return (0, ranks, self.method == "ANY")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when the route takes ``method path``, else None."""
        if self.method not in ("ANY", method):
            return None
        return self.match_path(path)

    def match_path(self, path: str) -> dict[str, str] | None:
        """The path parameters when the route's path takes ``path`` (any method), else None."""
        if self.path is None:
            return {}
        parts, names = [], []
        for segment in self.path.split("/"):
            variable = re.fullmatch(r"\{([^{}/]+?)(\+?)\}", segment)
            if variable is None:
                parts.append(re.escape(segment))
            else:
                names.append(variable.group(1))
                parts.append("(.+)" if variable.group(2) else "([^/]+)")
        found = re.fullmatch("/".join(parts), path)
        return (
            None
            if found is None
            else {k: unquote(v) for k, v in zip(names, found.groups(), strict=True)}
        )


def select_route(
    routes: Sequence[HttpRoute], method: str, path: str
) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route API Gateway picks for ``method path``, with its path parameters."""
    found = [(r, p) for r in routes if (p := r.match(method, path)) is not None]
    return min(found, key=lambda rp: rp[0].specificity(), default=None)


def http_event(
    route: HttpRoute,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    params: Mapping[str, str],
    source_ip: str,
    api_id: str,
    stage: str = DEFAULT_ROUTE,
    stage_variables: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event of one request (``path`` as requested, stage included)."""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    queries: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        queries[key] = f"{queries[key]},{value}" if key in queries else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT,
            "apiId": api_id,
            "domainName": joined.get("host", "localhost"),
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if queries:
        event["queryStringParameters"] = queries
    if params:
        event["pathParameters"] = dict(params)
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def http_response(payload: Any) -> tuple[int, dict[str, list[str]], bytes]:
    """The HTTP response for a format 2.0 result (a response object, or any JSON value)."""
    if not (isinstance(payload, Mapping) and "statusCode" in payload):
        return 200, {"Content-Type": ["application/json"]}, json.dumps(payload).encode()
    try:
        status = int(payload["statusCode"])
    except (TypeError, ValueError):
        return internal_error()
    headers = {str(k): [str(v)] for k, v in (payload.get("headers") or {}).items()}
    cookies = [str(c) for c in payload.get("cookies") or []]
    if cookies:
        headers["Set-Cookie"] = cookies
    raw = result_body(payload)
    if raw is None:
        return internal_error()
    return status, headers, raw


def http_response_v1(payload: Any) -> tuple[int, dict[str, list[str]], bytes]:
    """The HTTP response for a format 1.0 result (``statusCode``, ``headers``,
    ``multiValueHeaders``, ``body``, ``isBase64Encoded``); 500 for anything else."""
    if not (isinstance(payload, Mapping) and isinstance(payload.get("statusCode"), int | str)):
        return internal_error()
    try:
        status = int(payload["statusCode"])
    except ValueError:
        return internal_error()
    headers: dict[str, list[str]] = {}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.setdefault(str(name), []).extend(str(v) for v in values or [])
    for name, value in (payload.get("headers") or {}).items():
        headers[str(name)] = [str(value)]
    raw = result_body(payload)
    return internal_error() if raw is None else (status, headers, raw)


def internal_error() -> tuple[int, dict[str, list[str]], bytes]:
    return 500, {"Content-Type": ["application/json"]}, b'{"message":"Internal Server Error"}'
