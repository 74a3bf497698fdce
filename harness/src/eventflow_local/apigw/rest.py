"""One request to a REST API, handled as API Gateway handles it.

The URL is ``/<stage>/<path>`` (the stage prefix may be left out: the first stage of each API
then serves). The path is matched against the API's resources (``definition.Operation``), the
method against the resource's methods or its ``ANY``; none: 403
``{"message": "Missing Authentication Token"}``
(https://repost.aws/knowledge-center/api-gateway-authentication-token-errors). Then, in API
Gateway's order (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html):
the authorizer (a Lambda authorizer of the template runs; AWS_IAM and Cognito take the local
token), the API key and its usage plan (403, 429), the request validator (400), then the
integration: an ``aws_proxy`` function gets the REST proxy event (stage variables included) and
its answer becomes the response (502 ``{"message": "Internal server error"}`` when it fails or is
malformed); a ``mock`` answers its integration response; anything else is not emulated and answers
500 ``{"message": "Internal server error"}``. Every answer API Gateway gives itself goes through
the API's gateway responses (``gateway_responses``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from eventflow_local.apigw.auth_plan import AWS_IAM
from eventflow_local.apigw.authorizers import (
    AuthorizerCache,
    AuthRequest,
    Decision,
    LambdaAuthorizer,
    configuration_error,
    method_arn,
)
from eventflow_local.apigw.definition import ANY, AWS_PROXY, MOCK, Operation, RestApi
from eventflow_local.apigw.gateway_responses import Response, answer
from eventflow_local.apigw.local_token import LOCAL_PRINCIPAL
from eventflow_local.apigw.local_token import check as check_token
from eventflow_local.apigw.usage_plans import FORBIDDEN, QUOTA, UsagePlans
from eventflow_local.apigw.validation import validate
from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.runtime.invocation import Invoker

Log = Callable[[str], None]


@dataclass(frozen=True)
class Match:
    api: RestApi
    stage: str
    operation: Operation
    path: str  # the path without the stage
    params: dict[str, str]


class RestRouter:
    """The REST APIs' methods by stage."""

    def __init__(self, apis: Sequence[RestApi]) -> None:
        self.apis = [a for a in apis if a.stages]
        self._ops = {
            a.lid: sorted(a.operations, key=lambda o: (*o.rank, o.method == ANY)) for a in self.apis
        }

    def operations(self) -> list[Operation]:
        return [o for ops in self._ops.values() for o in ops]

    def _find(
        self, api: RestApi, method: str, path: str
    ) -> tuple[Operation, dict[str, str]] | None:
        for op in self._ops[api.lid]:
            found = op.pattern.match(path)
            if found and op.method in (method, ANY):
                return op, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def api_of(self, path: str) -> RestApi | None:
        """The API whose stage prefixes ``path`` (for its gateway responses)."""
        for api in self.apis:
            if any(path == f"/{s}" or path.startswith(f"/{s}/") for s in api.stages):
                return api
        return self.apis[0] if self.apis else None

    def match(self, method: str, path: str) -> Match | None:
        for api in self.apis:
            for stage in api.stages:
                prefix = f"/{stage}"
                if path == prefix or path.startswith(prefix + "/"):
                    rest = path[len(prefix) :] or "/"
                    found = self._find(api, method, rest)
                    if found:
                        return Match(api, stage, found[0], rest, found[1])
        for api in self.apis:
            found = self._find(api, method, path)
            if found:
                return Match(api, next(iter(api.stages)), found[0], path, found[1])
        return None


class RestHandler:
    """Runs a matched request through authorization, keys, validation and the integration."""

    def __init__(
        self,
        invokers: Mapping[str, Invoker],
        plans: UsagePlans,
        *,
        api_token: str | None,
        region: str,
        api_id: Callable[[str], str],
        cache: AuthorizerCache,
        log: Log,
    ) -> None:
        self.invokers = invokers
        self.plans = plans
        self.api_token = api_token
        self.region = region
        self.api_id = api_id
        self.cache = cache
        self.log = log
        self._authorizers: dict[tuple[str, str], LambdaAuthorizer] = {}

    def _lambda(self, op: Operation) -> LambdaAuthorizer | None:
        spec = op.auth.authorizer
        if spec is None or spec.function is None or spec.function not in self.invokers:
            return None
        key = (spec.api, spec.name)
        if key not in self._authorizers:
            self._authorizers[key] = LambdaAuthorizer(
                spec, self.invokers[spec.function], self.cache, self.log
            )
        return self._authorizers[key]

    def handle(self, match: Match, event: dict[str, Any], body: bytes | None) -> Response:
        op, api = match.operation, match.api
        event["stageVariables"] = dict(api.stages.get(match.stage) or {}) or None
        denied = self._authorize(match, event)
        if denied is not None:
            return denied
        headers: dict[str, str] = event.get("headers") or {}
        if op.auth.api_key_required:
            given = next((v for k, v in headers.items() if k.lower() == "x-api-key"), None)
            refused, key = self.plans.check(api.lid, match.stage, given, (op.path, op.method))
            if refused == FORBIDDEN:
                return answer("INVALID_API_KEY", FORBIDDEN, api.responses)
            if refused is not None:
                return answer(
                    "QUOTA_EXCEEDED" if refused == QUOTA else "THROTTLED", refused, api.responses
                )
            assert key is not None
            event["requestContext"]["identity"].update(apiKey=key.value, apiKeyId=key.lid)
        invalid = validate(
            op.validation,
            path_parameters=match.params,
            query=event.get("multiValueQueryStringParameters") or {},
            headers=headers,
            body=body,
        )
        if invalid is not None:
            return answer(invalid[0], invalid[1], api.responses)
        return self._integrate(match, event)

    def _integrate(self, match: Match, event: dict[str, Any]) -> Response:
        op = match.operation
        integration = op.integration
        if integration.type == MOCK:
            headers = {name: [value] for name, value in integration.headers}
            headers.setdefault("Content-Type", ["application/json"])
            return integration.status, headers, integration.body.encode()
        if integration.type != AWS_PROXY or op.function is None or op.function not in self.invokers:
            return answer("DEFAULT_5XX", "Internal server error", match.api.responses, status=500)
        from eventflow_local.apigw.gateway import proxy_response  # the shared proxy answer

        result = self.invokers[op.function].invoke(
            event, trigger=f"api {event['httpMethod']} {op.path}"
        )
        if not result.ok:
            return answer("DEFAULT_5XX", "Internal server error", match.api.responses, status=502)
        status, headers, raw = proxy_response(result.payload)
        if status == 502 and raw == b'{"message": "Internal server error"}':
            return answer("DEFAULT_5XX", "Internal server error", match.api.responses, status=502)
        return status, headers, raw

    def _authorize(self, match: Match, event: dict[str, Any]) -> Response | None:
        """None when the request may go on (``event`` then carries what the authorizer gave)."""
        op, api = match.operation, match.api
        spec = op.auth.authorizer
        if spec is None:
            return None
        headers: dict[str, str] = event.get("headers") or {}
        context = event["requestContext"]
        if spec.is_lambda:
            authorizer = self._lambda(op)
            if authorizer is None:  # its function is not running here
                return self._decision(configuration_error(), api)
            decision = authorizer.authorize(
                AuthRequest(
                    method=event["httpMethod"],
                    path=match.path,
                    resource=op.path,
                    method_arn=method_arn(
                        self.region,
                        LOCAL_ACCOUNT,
                        context["apiId"],
                        match.stage,
                        event["httpMethod"],
                        match.path,
                    ),
                    headers=headers,
                    query=event.get("multiValueQueryStringParameters") or {},
                    event=event,
                )
            )
            if not decision.allowed:
                return self._decision(decision, api)
            context["authorizer"] = decision.context
            return None
        denied = check_token(headers, self.api_token)  # AWS_IAM, Cognito: the local token
        if denied is not None:
            kind = "UNAUTHORIZED" if denied[0] == 401 else "ACCESS_DENIED"
            return answer(kind, denied[1], api.responses, status=denied[0])
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
        return None

    @staticmethod
    def _decision(decision: Decision, api: RestApi) -> Response:
        body = decision.body if isinstance(decision.body, Mapping) else {}
        message = body.get("message")
        kind = {401: "UNAUTHORIZED", 403: "ACCESS_DENIED"}.get(
            decision.status or 500, "AUTHORIZER_CONFIGURATION_ERROR"
        )
        return answer(
            kind, message, api.responses, status=decision.status, headers=decision.headers
        )
