"""Lambda authorizers of HTTP APIs, run as API Gateway runs them.

An HTTP API's Lambda authorizer is a ``REQUEST`` authorizer with an
``authorizerPayloadFormatVersion``:

- ``2.0``: the function gets the request's 2.0 event (without its body) with ``type: REQUEST``,
  ``routeArn`` and ``identitySource`` (the identity source values, a list); it answers an IAM
  policy (``principalId``, ``policyDocument``, ``context``) or, with ``enableSimpleResponses``,
  ``{"isAuthorized": bool, "context": {...}}``;
- ``1.0``: the function gets the REST request-authorizer event (``version: "1.0"``,
  ``type: REQUEST``, ``methodArn``, ``identitySource`` and ``authorizationToken`` = the identity
  values joined by commas, resource, path, headers, query strings, path parameters, stage
  variables, requestContext) and answers an IAM policy.

Identity sources (``$request.header.X``, ``$request.querystring.x``, ``$stageVariables.x``,
``$context.x``) must all be present and non-empty, else API Gateway answers 401
``{"message":"Unauthorized"}`` without invoking the function. The answer is cached per authorizer
and identity source values for ``authorizerResultTtlInSeconds`` (0: no cache); a cached policy is
evaluated again for the route each later request is for. An allowed request goes on with the
answer's ``context`` (``Decision.context["context"]``, its ``principalId`` beside it), which the
gateway puts in ``requestContext.authorizer.lambda`` (2.0 events) or ``requestContext.authorizer``
(1.0 events, with ``principalId``). ``isAuthorized: false`` or a
policy that does not allow the route answers 403 ``{"message":"Forbidden"}``; a function error or an
answer of another shape 500 ``{"message":"Internal Server Error"}``.

Policies are evaluated and answers cached with ``eventflow_local.apigw.authorizers``
(``evaluate_policy``, ``AuthorizerCache``), as for REST APIs.

Source: "Working with AWS Lambda authorizers for HTTP APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html), and
the ApiGatewayV2 ``CreateAuthorizer`` reference for the identity source check ("verifying all of
the identity-related request parameters are present in the request, not null, and non-empty").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eventflow_local.apigw.authorizers import ALLOW, AuthorizerCache, Decision, evaluate_policy
from eventflow_local.apigw.httpapi import HttpAuthorizerSpec
from eventflow_local.runtime.invocation import Invoker


def _json(status: int, message: str) -> Decision:
    return Decision(status, {"message": message}, {"Content-Type": ["application/json"]})


def unauthorized() -> Decision:
    return _json(401, "Unauthorized")


def forbidden() -> Decision:
    return _json(403, "Forbidden")


def internal_error() -> Decision:
    return _json(500, "Internal Server Error")


@dataclass
class HttpAuthRequest:
    """One request as an HTTP API authorizer sees it."""

    route_arn: str
    #: the request's 2.0 event and its 1.0 (REST proxy) event: one of them is the function's base
    event_v2: Mapping[str, Any]
    event_v1: Callable[[], Mapping[str, Any]]

    def source(self, expression: str) -> str | None:
        """The value of one identity source expression, None when absent."""
        event = self.event_v2
        kind, _, name = expression.removeprefix("$").partition(".")
        if kind == "request":
            where, _, key = name.partition(".")
            if where == "header":
                return (event.get("headers") or {}).get(key.lower())
            if where == "querystring":
                return (event.get("queryStringParameters") or {}).get(key)
            return None
        if kind == "stageVariables":
            return (event.get("stageVariables") or {}).get(name)
        if kind == "context":
            value: Any = event.get("requestContext") or {}
            for part in name.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            return None if value is None else str(value)
        return None


class HttpLambdaAuthorizer:
    """One Lambda authorizer of an HTTP API, invoked through the harness's runtime."""

    def __init__(
        self,
        spec: HttpAuthorizerSpec,
        invoker: Invoker,
        cache: AuthorizerCache,
        log: Callable[[str], None] = print,
    ) -> None:
        self.spec = spec
        self.invoker = invoker
        self.cache = cache
        self.log = log

    def identity(self, request: HttpAuthRequest) -> tuple[str, ...] | None:
        """The identity source values; None when one is missing or empty."""
        values = [request.source(expr) for expr in self.spec.identity_sources]
        if any(not v for v in values):
            return None
        return tuple(str(v) for v in values)

    def event(self, request: HttpAuthRequest, identity: tuple[str, ...]) -> dict[str, Any]:
        if self.spec.payload_version == "1.0":
            base = {
                k: v for k, v in request.event_v1().items() if k not in ("body", "isBase64Encoded")
            }
            joined = ",".join(identity)
            return {
                **base,
                "version": "1.0",
                "type": "REQUEST",
                "methodArn": request.route_arn,
                "identitySource": joined,
                "authorizationToken": joined,
            }
        base = {k: v for k, v in request.event_v2.items() if k not in ("body", "isBase64Encoded")}
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": request.route_arn,
            "identitySource": list(identity),
            **{k: v for k, v in base.items() if k != "version"},
        }

    def authorize(self, request: HttpAuthRequest) -> Decision:
        spec = self.spec
        identity = self.identity(request)
        if identity is None:
            return unauthorized()
        key = ("http", spec.api, spec.name, *identity)
        cached = spec.ttl > 0 and spec.identity_sources
        output = self.cache.get(key) if cached else None
        if output is None:
            result = self.invoker.invoke(
                self.event(request, identity), trigger=f"authorizer {spec.name}"
            )
            if not result.ok:
                return internal_error()
            output = self._checked(result.payload)
            if output is None:
                return internal_error()
            if cached:
                self.cache.put(key, output, spec.ttl)
        if self._simple:
            if output["isAuthorized"] is not True:
                return forbidden()
        elif evaluate_policy(output["policyDocument"], request.route_arn) != ALLOW:
            return forbidden()
        return Decision(
            context={
                "context": dict(output.get("context") or {}),
                "principalId": output.get("principalId"),
            }
        )

    @property
    def _simple(self) -> bool:
        return self.spec.payload_version == "2.0" and self.spec.simple_responses

    def _checked(self, payload: Any) -> dict[str, Any] | None:
        """The answer when it has the shape the authorizer's format asks for, else None (logged)."""
        valid = isinstance(payload, Mapping) and isinstance(payload.get("context") or {}, Mapping)
        if self._simple:
            shape = '{"isAuthorized": true|false, "context": {...}}'
            valid = valid and isinstance(payload.get("isAuthorized"), bool)
        else:
            shape = "principalId, policyDocument, context"
            valid = valid and isinstance(payload.get("policyDocument"), Mapping)
            valid = valid and payload.get("principalId") not in (None, "")
        if not valid:
            self.log(f"authorizer {self.spec.name}: its answer is not {shape}")
            return None
        assert isinstance(payload, Mapping)
        return dict(payload)
