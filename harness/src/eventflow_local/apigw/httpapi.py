"""API Gateway HTTP APIs (``Type: HttpApi`` events): routes, payload format 2.0, ``$default`` stage.

An HTTP API route is ``METHOD /path`` (``ANY`` and ``{proxy+}`` allowed); an event without
``Path`` and ``Method`` is the ``$default`` route, which takes every request no other route
matches. The stage is ``$default``: URLs have no stage prefix. With ``PayloadFormatVersion: "2.0"``
(SAM's default) the function receives the 2.0 event (``version``, ``routeKey``, ``rawPath``,
``rawQueryString``, ``cookies``, lower-case ``headers`` with repeated values joined by commas,
``queryStringParameters`` likewise, ``requestContext.http``) and may answer either a response
object (``statusCode``, ``headers``, ``cookies``, ``body``, ``isBase64Encoded``) or any other JSON
value, which becomes a 200 ``application/json`` body. ``"1.0"`` sends the REST proxy event.
A function error answers 500 ``{"message": "Internal Server Error"}``; no route, 404
``{"message": "Not Found"}``.

Authorization of HTTP APIs (JWT, Lambda authorizers with simple responses, IAM) is not run
locally: routes that declare one need the local token (``LOCAL_API_TOKEN``) instead, and the
harness says so at start-up.

Sources: "Working with AWS Lambda proxy integrations for HTTP APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
"Working with routes for HTTP APIs" (.../http-api-develop-routes.html), SAM "HttpApi" event
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-httpapi.html).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.httpserver import result_body
from eventflow_local.template.sam import SamTemplate

IMPLICIT_HTTP_API = "ServerlessHttpApi"
DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str | None  # None: the $default route
    function: str
    event: str
    api: str
    payload_version: str = "2.0"
    protected: bool = False  # an authorizer is declared: the local token stands in

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path is None else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.path is None:
            return {}
        if self.method not in ("ANY", method):
            return None
        regex = re.sub(r"\{([^}/+]+)\+\}", r"(?P<\1>.+)", self.path)
        regex = re.sub(r"\{([^}/]+)\}", r"(?P<\1>[^/]+)", regex)
        found = re.fullmatch(regex, path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


def http_routes(template: SamTemplate, running: set[str]) -> tuple[list[HttpRoute], list[str]]:
    """The HttpApi routes of the running functions (literal paths first, ``$default`` last) and
    what is not emulated about them."""
    skipped: list[str] = []
    http_api = "AWS::Serverless::HttpApi"
    auths: dict[str, dict[str, Any]] = {
        IMPLICIT_HTTP_API: dict(template.global_property(http_api, "Auth") or {})
    }
    for lid in template.sam_resources_of(http_api):
        auths[lid] = dict(template.property_of(lid, "Auth") or {})
        if template.property_of(lid, "StageName") not in (None, DEFAULT_ROUTE):
            skipped.append(f"{lid}.StageName: only the $default stage (no URL prefix) is served")
    routes: list[HttpRoute] = []
    for fn in template.functions().values():
        if fn.logical_id not in running:
            continue
        for ev in fn.events_of("HttpApi"):
            props = ev.properties
            api = str(template.logical_id_of(props.get("ApiId")) or IMPLICIT_HTTP_API)
            api_auth, event_auth = auths.get(api, {}), dict(props.get("Auth") or {})
            name = event_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
            protected = bool(name) and name != "NONE"
            where = f"{fn.logical_id}.{ev.name}"
            if protected:
                skipped.append(
                    f"{where}.Auth: HTTP API authorizer {name} is not run locally; "
                    "the local token (LOCAL_API_TOKEN) stands in"
                )
            path = props.get("Path")
            routes.append(
                HttpRoute(
                    method=str(props.get("Method") or "ANY").upper(),
                    path=None if path in (None, "/$default") else str(path),
                    function=fn.logical_id,
                    event=ev.name,
                    api=api,
                    payload_version=str(props.get("PayloadFormatVersion") or "2.0"),
                    protected=protected,
                )
            )
    routes.sort(key=lambda r: (r.path is None, (r.path or "").count("{"), -len(r.path or "")))
    return routes, skipped


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
) -> dict[str, Any]:
    """The payload format 2.0 event of one request."""
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
            "stage": DEFAULT_ROUTE,
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


def internal_error() -> tuple[int, dict[str, list[str]], bytes]:
    return 500, {"Content-Type": ["application/json"]}, b'{"message":"Internal Server Error"}'
