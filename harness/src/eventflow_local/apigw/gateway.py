"""API Gateway in front of the template's deployed REST APIs and HTTP APIs.

REST APIs (``AWS::ApiGateway::RestApi``, read by ``eventflow_local.apigw.restapi``) are served
by ``eventflow_local.apigw.rest``: ``/<stage>/<path>`` matched against each API's resources,
authorizers, API keys and usage plans, request validators, then the integration; a request no
REST method claims goes to the HTTP API routes (``eventflow_local.apigw.httpapi``), their
``$default`` route last. A path nothing claims answers API Gateway's 403
``{"message": "Missing Authentication Token"}``
(https://repost.aws/knowledge-center/api-gateway-authentication-token-errors).

Besides: ``GET /`` (when no route claims it) lists the REST methods; ``/openapi.json`` and
``/swagger`` the OpenAPI document (``eventflow_local.apigw.openapi``); ``/_console/`` is the local
console, ahead of the template's routes. A body over API Gateway's 10 MB answers 413
(https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import urlsplit

from eventflow_local.apigw.authorizers import AuthorizerCache
from eventflow_local.apigw.definition import RestApi
from eventflow_local.apigw.gateway_responses import answer
from eventflow_local.apigw.http_definition import HttpApiDef
from eventflow_local.apigw.http_gateway import HttpApis
from eventflow_local.apigw.httpapi import HttpRoute
from eventflow_local.apigw.openapi import swagger_html
from eventflow_local.apigw.rest import RestHandler, RestRouter
from eventflow_local.apigw.usage_plans import UsagePlans
from eventflow_local.aws import DEFAULT_REGION
from eventflow_local.events.apigateway import api_event
from eventflow_local.httpserver import HttpService, read_body, result_body, send
from eventflow_local.runtime.invocation import Invoker

Log = Callable[[str], None]


class ConsolePages(Protocol):
    """Pages served ahead of the template's routes (the console: ``console/server.py``)."""

    def claims(self, path: str) -> bool: ...
    def handle(self, req: BaseHTTPRequestHandler) -> None: ...


MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


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
    """The template's REST and HTTP APIs; ``port=0`` takes a free port (see ``url``).

    ``apis``: the deployed REST APIs (``restapi.read_rest_apis``); ``plans``: their API keys and
    usage plans (``usage_plans.UsagePlans.read``).
    """

    name = "apigw"

    def __init__(
        self,
        apis: Sequence[RestApi],
        invokers: Mapping[str, Invoker],
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        log: Log = print,
        api_token: str | None = None,
        openapi: Callable[[], dict[str, Any]] | None = None,
        plans: UsagePlans | None = None,
        region: str = DEFAULT_REGION,
        cache: AuthorizerCache | None = None,
        http_apis: Sequence[HttpApiDef] = (),
        instance: str = "",
        console: ConsolePages | None = None,
    ) -> None:
        #: the local console, served under /_console/ (local/console/)
        self.console = console
        self.invokers = invokers
        self.log = log
        self.region = region
        #: the local token standing in for AWS_IAM and Cognito (eventflow_local/apigw/local_token.py); "" = not checked
        self.api_token = api_token
        self.cache = cache or AuthorizerCache()
        self._routes = self._route_table(apis, plans, http_apis)
        self._openapi = openapi
        self._openapi_doc: dict[str, Any] | None = None
        self._openapi_lock = threading.Lock()
        super().__init__(host, port, instance=instance)

    def _route_table(
        self, apis: Sequence[RestApi], plans: UsagePlans | None, http_apis: Sequence[HttpApiDef]
    ) -> RouteTable:
        usage = plans or UsagePlans([], [])
        router = RestRouter(apis)
        # the HTTP APIs (apigw/http_gateway.py): served after the REST routes, $default last
        http = HttpApis(
            http_apis,
            self.invokers,
            api_token=self.api_token,
            region=self.region,
            cache=self.cache,
            log=self.log,
        )
        rest = RestHandler(
            self.invokers,
            usage,
            api_token=self.api_token,
            region=self.region,
            api_id=api_id,
            cache=self.cache,
            log=self.log,
        )
        return RouteTable(router, http, rest, usage)

    def replace_routes(
        self,
        apis: Sequence[RestApi],
        plans: UsagePlans,
        http_apis: Sequence[HttpApiDef],
        openapi: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """Serve these APIs from the next request on (a saved template, eventflow_local/reapply.py); a
        request under way finishes on the table it started with. The authorizer cache is kept;
        usage plans count again from zero."""
        table = self._route_table(apis, plans, http_apis)
        with self._openapi_lock:
            self._routes = table  # one assignment: each request reads the table once
            self._openapi = openapi or self._openapi
            self._openapi_doc = None

    # the current route table's parts (the banner, the console and the report read them)
    @property
    def router(self) -> RestRouter:
        return self._routes.router

    @property
    def http(self) -> HttpApis:
        return self._routes.http

    @property
    def http_routes(self) -> list[HttpRoute]:
        return self._routes.http.routes

    @property
    def plans(self) -> UsagePlans:
        return self._routes.plans

    @property
    def rest(self) -> RestHandler:
        return self._routes.rest

    @property
    def stage(self) -> str:
        """The first stage of the first API (the start-up banner's)."""
        return next((s for a in self._routes.router.apis for s in a.stages), "")

    def openapi_document(self) -> dict[str, Any] | None:
        if self._openapi is None:
            return None
        with self._openapi_lock:
            if self._openapi_doc is None:
                self._openapi_doc = self._openapi()
            return self._openapi_doc

    def index(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "routes": [
                {"method": o.method, "path": o.path, "function": o.function, "api": o.api}
                for o in sorted(self.router.operations(), key=lambda o: (o.path, o.method))
            ],
        }

    # ------------------------------------------------------------------ one request
    def handle(self, req: BaseHTTPRequestHandler) -> None:
        split = urlsplit(req.path)
        path = split.path or "/"
        if self.console is not None and self.console.claims(path):
            self.console.handle(req)
            return
        method = req.command.upper()
        routes = self._routes  # this request's route table, whatever a reload swaps in
        api = routes.router.api_of(path)
        responses = api.responses if api else {}
        if int(req.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
            send(req, *answer("REQUEST_TOO_LARGE", "Request Too Long", responses))
            return
        body = read_body(req) or None
        match = routes.router.match(method, path)
        if match is None:
            builtin = method == "GET" and path in ("/openapi.json", "/swagger", "/swagger/")
            builtin = builtin or (method == "GET" and path == "/" and not routes.http.has_default)
            sent = dict(req.headers.items())
            found = routes.http.match(method, path, sent, default=False)
            if found is None and not builtin:
                found = routes.http.match(method, path, sent, default=True)
            if found is not None:
                routes.http.handle(req, found, path, split.query, body)
            elif method == "GET" and path == "/":
                send(req, *_json_body(200, self.index()))
            elif method == "GET" and path == "/openapi.json" and self._openapi is not None:
                send(req, *_json_body(200, self.openapi_document()))
            elif method == "GET" and path in ("/swagger", "/swagger/") and self._openapi:
                html = swagger_html("/openapi.json").encode()
                send(req, 200, {"Content-Type": ["text/html; charset=utf-8"]}, html)
            elif api is None and routes.http.routes and not routes.router.apis:
                # an HTTP API's unknown route: 404 Not Found (REST APIs answer 403 below)
                send(req, *_json_body(404, {"message": "Not Found"}))
            else:
                send(
                    req,
                    *answer(
                        "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", responses
                    ),
                )
            return
        event_headers: dict[str, str] = {}
        for name, value in req.headers.items():
            event_headers[name] = (
                f"{event_headers[name]},{value}" if name in event_headers else value
            )
        event = api_event(
            method,
            match.path,
            resource=match.operation.path,
            path_parameters=match.params or None,
            query=split.query or None,
            headers=event_headers,
            body=body,
            stage=match.stage,
            source_ip=req.client_address[0],
        )
        event["requestContext"]["apiId"] = api_id(match.api.lid)
        send(req, *routes.rest.handle(match, event, body))


@dataclass(frozen=True)
class RouteTable:
    """What one request is routed by: swapped whole when the template changes."""

    router: RestRouter
    http: HttpApis
    rest: RestHandler
    plans: UsagePlans


def api_id(api: str) -> str:
    """A stable 10-character id per API of the template, as API Gateway's look."""
    return hashlib.sha1(api.encode()).hexdigest()[:10]
