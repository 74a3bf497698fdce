"""Serving the HTTP APIs of a template: stage, route, CORS, authorization, integration.

A request is served the way API Gateway serves an HTTP API ("Working with routes for HTTP APIs",
section "Routing API requests"): first the stage (a named stage when the path starts with
``/<stage>``, else the ``$default`` stage; an API without either does not take the request), then
the most specific route of that stage's API (``httpapi.select_route``), ``$default`` last. With a
CORS configuration a preflight request is answered by API Gateway before any route or authorizer
(``http_cors``). Then the route's authorization: a Lambda authorizer of the template is run
(``http_authorizers``); a JWT authorizer, IAM, or a Lambda of another stack cannot be checked
offline and the local token (``LOCAL_API_TOKEN``) stands in, as for REST APIs. Then the
integration: the 2.0 or 1.0 event with the stage's name and variables, the function's answer
interpreted for its payload format version, the CORS headers applied.

The REST API server (``gateway.ApiGateway``) asks ``HttpApis.match`` for the requests its REST
routes do not take and hands them to ``HttpApis.handle``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from eventflow_local.apigw.authorizers import AuthorizerCache, Decision, method_arn
from eventflow_local.apigw.http_authorizers import HttpAuthRequest, HttpLambdaAuthorizer
from eventflow_local.apigw.http_authorizers import internal_error as authorizer_error
from eventflow_local.apigw.http_definition import HttpApiDef, HttpStage
from eventflow_local.apigw.httpapi import (
    HttpRoute,
    http_event,
    http_response,
    http_response_v1,
    internal_error,
    select_route,
)
from eventflow_local.apigw.local_token import LOCAL_PRINCIPAL
from eventflow_local.apigw.local_token import check as check_token
from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT
from eventflow_local.events.apigateway import api_event
from eventflow_local.httpserver import send
from eventflow_local.runtime.invocation import Invoker

Response = tuple[int, dict[str, list[str]], bytes]


def api_id(api: str) -> str:
    """A stable 10-character id per API of the template, as API Gateway's look."""
    return hashlib.sha1(api.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class HttpMatch:
    api: HttpApiDef
    stage: HttpStage
    route: HttpRoute | None  # None: a CORS preflight, answered by API Gateway
    params: Mapping[str, str]
    path: str  # the path within the stage


def _stage_of(api: HttpApiDef, path: str) -> tuple[HttpStage, str] | None:
    """The stage a request path goes to, with the path within it: a named stage the path names,
    else ``$default``."""
    default = None
    for stage in api.stages:
        if not stage.prefix:
            default = stage
        elif path == stage.prefix or path.startswith(stage.prefix + "/"):
            return stage, path[len(stage.prefix) :] or "/"
    return (default, path) if default is not None else None


class HttpApis:
    def __init__(
        self,
        apis: Sequence[HttpApiDef],
        invokers: Mapping[str, Invoker],
        *,
        api_token: str | None = None,
        region: str = DEFAULT_REGION,
        cache: AuthorizerCache | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.apis = list(apis)
        self.invokers = invokers
        self.api_token = api_token
        self.region = region
        self.cache = cache or AuthorizerCache()
        self.authorizers: dict[tuple[str, str], HttpLambdaAuthorizer] = {}
        for api in self.apis:
            for spec in api.authorizers.values():
                if spec.function is not None and spec.function in invokers:
                    self.authorizers[(api.api, spec.name)] = HttpLambdaAuthorizer(
                        spec, invokers[spec.function], self.cache, log
                    )

    @property
    def routes(self) -> list[HttpRoute]:
        return [route for api in self.apis for route in api.routes]

    @property
    def has_default(self) -> bool:
        return any(route.path is None for route in self.routes)

    # ------------------------------------------------------------------ routing
    def match(
        self, method: str, path: str, headers: Mapping[str, str], *, default: bool
    ) -> HttpMatch | None:
        """The best match of the request among the APIs' routes (``default``: only ``$default``
        routes, else only the others)."""
        best: tuple[tuple[Any, ...], HttpMatch] | None = None
        for api in self.apis:
            staged = _stage_of(api, path)
            if staged is None:
                continue
            stage, inner = staged
            routes = [r for r in api.routes if (r.path is None) == default]
            preflight = api.cors is not None and api.cors.is_preflight(method, headers)
            if preflight and (default or any(r.match_path(inner) is not None for r in routes)):
                return HttpMatch(api, stage, None, {}, inner)
            found = select_route(routes, method, inner)
            if found is not None and (best is None or found[0].specificity() < best[0]):
                best = (found[0].specificity(), HttpMatch(api, stage, found[0], found[1], inner))
        return None if best is None else best[1]

    # ------------------------------------------------------------------ one request
    def handle(
        self,
        req: BaseHTTPRequestHandler,
        match: HttpMatch,
        raw_path: str,
        query: str,
        body: bytes | None,
    ) -> None:
        headers = dict(req.headers.items())
        cors = match.api.cors
        if match.route is None:
            assert cors is not None
            send(req, *cors.preflight(headers))
            return
        status, out, raw = self._respond(req, match, raw_path, query, body)
        send(req, status, cors.apply(headers, out) if cors is not None else out, raw)

    def _respond(
        self,
        req: BaseHTTPRequestHandler,
        match: HttpMatch,
        raw_path: str,
        query: str,
        body: bytes | None,
    ) -> Response:
        route = match.route
        assert route is not None
        method = req.command.upper()
        ident = api_id(route.api)
        stage = match.stage
        event = http_event(
            route,
            method,
            raw_path,
            query,
            list(req.headers.items()),
            body,
            match.params,
            req.client_address[0],
            ident,
            stage=stage.name,
            stage_variables=stage.variables,
        )

        def event_v1() -> dict[str, Any]:
            v1 = api_event(
                method,
                raw_path,
                resource=route.path or "/{proxy+}",
                path_parameters=match.params or None,
                query=query or None,
                headers=dict(req.headers.items()),
                body=body,
                stage=stage.name,
                source_ip=req.client_address[0],
            )
            v1["requestContext"].update(apiId=ident, path=raw_path)
            v1.update(version="1.0", stageVariables=dict(stage.variables) or None)
            return v1

        authorized = self._authorize(route, method, match, event, event_v1)
        if authorized.status is not None:
            return authorized.status, authorized.headers, json.dumps(authorized.body).encode()
        if not route.function:  # an AWS service integration: not emulated (named at start-up)
            return internal_error()
        if route.payload_version == "1.0":
            event = event_v1()
            if authorized.context is not None:
                given = authorized.context
                principal = {"principalId": given["principalId"]} if given["principalId"] else {}
                event["requestContext"]["authorizer"] = {**given["context"], **principal}
        elif authorized.context is not None:
            event["requestContext"]["authorizer"] = {"lambda": authorized.context["context"]}
        if route.protected and self.api_token and route.authorization == "JWT":
            claims = {"sub": LOCAL_PRINCIPAL}
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        result = self.invokers[route.function].invoke(event, trigger=f"httpapi {route.route_key}")
        if not result.ok:
            return internal_error()
        if route.payload_version == "1.0":
            return http_response_v1(result.payload)
        return http_response(result.payload)

    def _authorize(
        self,
        route: HttpRoute,
        method: str,
        match: HttpMatch,
        event: dict[str, Any],
        event_v1: Callable[[], dict[str, Any]],
    ) -> Decision:
        """An allowed Decision (``context`` set when a Lambda authorizer ran), or the answer."""
        if route.protected:
            denied = check_token(dict(event["headers"]), self.api_token)
            if denied is not None:
                return Decision(denied[0], {"message": denied[1]})
            return Decision()
        spec = route.authorizer
        if spec is None:
            return Decision()
        authorizer = self.authorizers.get((route.api, spec.name))
        if authorizer is None:  # its function is not running here
            return authorizer_error()
        arn = method_arn(
            self.region, LOCAL_ACCOUNT, api_id(route.api), match.stage.name, method, match.path
        )
        return authorizer.authorize(HttpAuthRequest(arn, event, event_v1))
