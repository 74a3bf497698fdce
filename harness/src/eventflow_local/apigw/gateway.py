"""API Gateway (REST API, proxy integration) in front of the template's ``Type: Api`` events.

Each request is matched against the routes of the template (``/items/{id}`` style paths,
``{proxy+}`` greedy parameters, ``ANY`` methods), turned into the REST proxy event
(``eventflow_local.events.apigateway.api_event``: resource = the template path, pathParameters, query string, headers,
body, stage) and given to the route's function. The function's result
``{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`` becomes the HTTP response.

As API Gateway does: an unknown path answers 404 ``{"message": ...}``; a known path with another
method answers 405 with an ``Allow`` header; a function error or a malformed result answers
502 ``{"message": "Internal server error"}``. The stage prefix (``/v1``) is optional in the URL.
``GET /`` (when no route claims it) lists the routes; ``/_console/`` is the local console
(local/console/), ahead of the template's routes.

Authorization is the template's (``eventflow_local.apigw.auth_plan`` says what each route needs,
``eventflow_local.apigw.authorizers`` runs Lambda authorizers, ``eventflow_local.apigw.local_token`` holds the local-token stand-in and
the API key check). ``Type: HttpApi`` routes (``eventflow_local.apigw.httpapi``) are served after the REST routes,
their ``$default`` route last.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from eventflow_local.apigw.auth_plan import AWS_IAM, IMPLICIT_API, AuthPlan, RouteAuth
from eventflow_local.apigw.authorizers import (
    AuthorizerCache,
    AuthRequest,
    Decision,
    LambdaAuthorizer,
    configuration_error,
    method_arn,
)
from eventflow_local.apigw.http_definition import HttpApiDef
from eventflow_local.apigw.http_gateway import HttpApis, HttpMatch
from eventflow_local.apigw.local_token import LOCAL_PRINCIPAL, check_api_key
from eventflow_local.apigw.local_token import check as check_auth
from eventflow_local.apigw.openapi import swagger_html
from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT
from eventflow_local.events.apigateway import api_event
from eventflow_local.httpserver import HttpService, read_body, result_body, send
from eventflow_local.runtime.invocation import Invoker
from eventflow_local.template.specs import Route

Log = Callable[[str], None]


class ConsolePages(Protocol):
    """Pages served ahead of the template's routes (the console: ``console/server.py``)."""

    def claims(self, path: str) -> bool: ...
    def handle(self, req: BaseHTTPRequestHandler) -> None: ...


MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class Router:
    def __init__(self, routes: Sequence[Route], stage: str = "v1") -> None:
        # literal paths win over parameters, as in API Gateway
        self.routes = sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))
        self.stage = stage

    def strip_stage(self, path: str) -> str:
        prefix = f"/{self.stage}"
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/") and not any(r.pattern.match(path) for r in self.routes):
            return path[len(prefix) :]
        return path

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, path parameters, allowed methods of the path when the method did not match)."""
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method in (method, "ANY"):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}, []
            allowed.append(route.method)
        return None, {}, sorted(set(allowed))


def _json_body(status: int, body: Any) -> tuple[int, dict[str, list[str]], bytes]:
    return status, {"Content-Type": ["application/json"]}, json.dumps(body).encode()


def proxy_response(payload: Any) -> tuple[int, dict[str, list[str]], bytes]:
    """The HTTP response for a proxy integration result; 502 if the result is not one."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("statusCode"), int | str):
        return _json_body(502, {"message": "Internal server error"})
    try:
        status = int(payload["statusCode"])
    except ValueError:
        return _json_body(502, {"message": "Internal server error"})
    headers: dict[str, list[str]] = {}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, []).extend(str(v) for v in (values or []))
    for name, value in (payload.get("headers") or {}).items():
        headers[name] = [str(value)]  # single-value headers override, as API Gateway merges them
    raw = result_body(payload)
    if raw is None:
        return _json_body(502, {"message": "Internal server error"})
    return status, headers, raw


class ApiGateway(HttpService):
    """The REST API of the template; ``port=0`` takes a free port (see ``url``).

    ``auth`` (from ``eventflow_local.apigw.auth_plan.plan``) says what each route needs; a route it does not list
    is open, as a method without authorization is on API Gateway. Authorizers run before the API
    key check, as API Gateway orders them.
    """

    name = "apigw"

    def __init__(
        self,
        routes: Sequence[Route],
        invokers: Mapping[str, Invoker],
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        stage: str = "v1",
        log: Log = print,
        api_token: str | None = None,
        openapi: Callable[[], dict[str, Any]] | None = None,
        auth: AuthPlan | None = None,
        region: str = DEFAULT_REGION,
        cache: AuthorizerCache | None = None,
        http_apis: Sequence[HttpApiDef] = (),
        instance: str = "",
        console: ConsolePages | None = None,
    ) -> None:
        self.router = Router(routes, stage)
        #: the local console, served under /_console/ (local/console/)
        self.console = console
        #: the HTTP APIs (apigw/http_gateway.py): served after the REST routes, $default last
        self.http = HttpApis(
            http_apis, invokers, api_token=api_token, region=region, cache=cache, log=log
        )
        self.http_routes = self.http.routes
        self._http_default = self.http.has_default
        self.invokers = invokers
        self.stage = stage
        self.log = log
        self.region = region
        #: the local token standing in for AWS_IAM and Cognito (eventflow_local/apigw/local_token.py); "" = not checked
        self.api_token = api_token
        self.auth = auth or AuthPlan()
        self._route_auth = {(r.function, r.event): ra for r, ra in self.auth.routes}
        self.cache = cache or AuthorizerCache()
        self.authorizers: dict[tuple[str, str], LambdaAuthorizer] = {}
        for spec in self.auth.authorizers():
            if spec.is_lambda and spec.function is not None and spec.function in invokers:
                self.authorizers[(spec.api, spec.name)] = LambdaAuthorizer(
                    spec, invokers[spec.function], self.cache, log
                )
        self._openapi = openapi
        self._openapi_doc: dict[str, Any] | None = None
        self._openapi_lock = threading.Lock()
        super().__init__(host, port, instance=instance)

    def openapi_document(self) -> dict[str, Any] | None:
        if self._openapi is None:
            return None
        with self._openapi_lock:
            if self._openapi_doc is None:
                self._openapi_doc = self._openapi()
            return self._openapi_doc

    def route_auth(self, route: Route) -> RouteAuth:
        return self._route_auth.get((route.function, route.event)) or RouteAuth(IMPLICIT_API)

    def index(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "routes": [
                {"method": r.method, "path": r.path, "function": r.function}
                for r in sorted(self.router.routes, key=lambda r: (r.path, r.method))
            ],
        }

    # ------------------------------------------------------------------ one request
    def handle(self, req: BaseHTTPRequestHandler) -> None:
        split = urlsplit(req.path)
        if self.console is not None and self.console.claims(split.path):
            self.console.handle(req)
            return
        path = self.router.strip_stage(split.path or "/")
        method = req.command.upper()
        if int(req.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
            send(req, *_json_body(413, {"message": "Request Too Long"}))
            return
        body = read_body(req) or None
        route, params, allowed = self.router.match(method, path)
        builtin = method == "GET" and path in ("/openapi.json", "/swagger", "/swagger/")
        builtin = builtin or (method == "GET" and path == "/" and not self._http_default)
        if route is None and not allowed:
            sent = dict(req.headers.items())
            found = self.http.match(method, split.path or "/", sent, default=False)
            if found is None and not builtin:
                found = self.http.match(method, split.path or "/", sent, default=True)
            if found is not None:
                self._handle_http(req, found, split.path or "/", split.query, body)
                return
        if route is None:
            if allowed:
                status, headers, raw = _json_body(
                    405, {"message": f"Method {method} not allowed on {path}"}
                )
                headers["Allow"] = [", ".join(allowed)]
            elif method == "GET" and path == "/":
                status, headers, raw = _json_body(200, self.index())
            elif method == "GET" and path == "/openapi.json" and self._openapi is not None:
                status, headers, raw = _json_body(200, self.openapi_document())
            elif method == "GET" and path in ("/swagger", "/swagger/") and self._openapi:
                html = swagger_html("/openapi.json").encode()
                status, headers, raw = 200, {"Content-Type": ["text/html; charset=utf-8"]}, html
            else:
                status, headers, raw = _json_body(404, {"message": f"No route for {method} {path}"})
            send(req, status, headers, raw)
            return
        event_headers: dict[str, str] = {}
        for name, value in req.headers.items():
            event_headers[name] = (
                f"{event_headers[name]},{value}" if name in event_headers else value
            )
        route_auth = self.route_auth(route)
        event = api_event(
            method,
            path,
            resource=route.path,
            path_parameters=params or None,
            query=split.query or None,
            headers=event_headers,
            body=body,
            stage=self.stage,
            source_ip=req.client_address[0],
        )
        event["requestContext"]["apiId"] = api_id(route_auth.api)
        denied = self._authorize(route_auth, method, path, event)
        if denied is not None:
            send(req, denied.status or 500, denied.headers, json.dumps(denied.body).encode())
            return
        result = self.invokers[route.function].invoke(event, trigger=f"api {method} {route.path}")
        if not result.ok:
            send(req, *_json_body(502, {"message": "Internal server error"}))
            return
        send(req, *proxy_response(result.payload))

    def _handle_http(
        self,
        req: BaseHTTPRequestHandler,
        found: HttpMatch,
        path: str,
        query: str,
        body: bytes | None,
    ) -> None:
        self.http.handle(req, found, path, query, body)

    def _authorize(
        self, route_auth: RouteAuth, method: str, path: str, event: dict[str, Any]
    ) -> Decision | None:
        """None when the request may go on (``event`` then carries what the authorizer gave);
        else the answer API Gateway would send."""
        headers: dict[str, str] = event.get("headers") or {}
        context = event["requestContext"]
        spec = route_auth.authorizer
        if spec is not None and spec.is_lambda:
            authorizer = self.authorizers.get((spec.api, spec.name))
            if authorizer is None:  # its function is not running here
                return configuration_error()
            decision = authorizer.authorize(
                AuthRequest(
                    method=method,
                    path=path,
                    resource=context["resourcePath"],
                    method_arn=method_arn(
                        self.region, LOCAL_ACCOUNT, context["apiId"], self.stage, method, path
                    ),
                    headers=headers,
                    query=event.get("multiValueQueryStringParameters") or {},
                    event=event,
                )
            )
            if not decision.allowed:
                return decision
            context["authorizer"] = decision.context
        elif spec is not None:  # AWS_IAM, Cognito, a foreign Lambda: the local token stands in
            denied = check_auth(headers, self.api_token)
            if denied is not None:
                return Decision(denied[0], {"message": denied[1]})
            if self.api_token and spec.kind == AWS_IAM:
                context["identity"].update(
                    caller=LOCAL_PRINCIPAL,
                    user=LOCAL_PRINCIPAL,
                    userArn=f"arn:aws:iam::{LOCAL_ACCOUNT}:user/{LOCAL_PRINCIPAL}",
                )
            elif self.api_token:
                context["authorizer"] = {
                    "claims": {"sub": LOCAL_PRINCIPAL, "cognito:username": LOCAL_PRINCIPAL}
                }
        if route_auth.api_key_required:
            key = check_api_key(headers, self.auth.api_keys)
            if key is None:
                return Decision(403, {"message": "Forbidden"})
            context["identity"].update(apiKey=key, apiKeyId=self.auth.api_keys[key])
        return None


def api_id(api: str) -> str:
    """A stable 10-character id per API of the template, as API Gateway's look."""
    return hashlib.sha1(api.encode()).hexdigest()[:10]
