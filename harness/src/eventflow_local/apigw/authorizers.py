"""API Gateway's Lambda authorizers, run locally: events, policy evaluation, the result cache.

A TOKEN authorizer gets ``{"type": "TOKEN", "authorizationToken", "methodArn"}``; a REQUEST
authorizer gets the request itself (resource, path, httpMethod, headers, query string, path
parameters, stage variables, requestContext) with ``type`` and ``methodArn``. Before invoking,
API Gateway answers 401 ``{"message": "Unauthorized"}`` itself when an identity source is missing
or empty, or when the token does not match the ``ValidationExpression``.

The function's answer decides:

- it raised with the message ``Unauthorized``: 401 ``{"message": "Unauthorized"}``;
- it failed otherwise, or its output lacks ``principalId``/``policyDocument``, or its ``context``
  holds anything but strings, numbers and booleans: 500 ``{"message": null}`` with
  ``x-amzn-ErrorType: AuthorizerConfigurationException``;
- the policy explicitly denies the method ARN: 403 ``{"message": "User is not authorized to access
  this resource with an explicit deny"}`` (``ACCESS_DENIED``); allows it: the
  request goes on, with ``requestContext.authorizer`` = the ``context`` (values stringified),
  ``principalId`` and ``integrationLatency``; neither: 403 (implicit deny).

The policy is cached per authorizer and identity source values for
``authorizerResultTtlInSeconds`` (default 300, 0 = no cache), and a cached policy is evaluated
against every method it is later
used for: a policy that allows only the method it was first called for refuses the API's other
methods until it expires, as on AWS.

Sources: "Input to an API Gateway Lambda authorizer"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html),
"Output from an API Gateway Lambda authorizer" (.../api-gateway-lambda-authorizer-output.html:
context values are stringified for the proxy integration), "Configure an API Gateway Lambda
authorizer" (.../configure-api-gateway-lambda-authorization.html: caching), the knowledge-center
pages on 401 and 403 errors after creating a Lambda authorizer
(https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.apigw.auth_plan import REQUEST, AuthorizerSpec
from eventflow_local.runtime.invocation import Invoker

Clock = Callable[[], float]
ALLOW, DENY = "Allow", "Deny"
EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
IMPLICIT_DENY = "User is not authorized to access this resource"


# ------------------------------------------------------------------------- policy evaluation
def _glob(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` one character."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _action_matches(action: Any) -> bool:
    return any(_glob(str(a).lower()).fullmatch("execute-api:invoke") for a in _as_list(action))


def evaluate_policy(document: Mapping[str, Any], method_arn: str) -> str | None:
    """``Deny`` if a statement denies ``method_arn``, else ``Allow`` if one allows it, else None
    (implicit deny), as IAM evaluates an authorizer's policy."""
    allowed = False
    for statement in _as_list(document.get("Statement") or []):
        if not isinstance(statement, Mapping):
            continue
        if not _action_matches(statement.get("Action", "")):
            continue
        resources = _as_list(statement.get("Resource", []))
        if not any(_glob(str(r)).fullmatch(method_arn) for r in resources):
            continue
        effect = str(statement.get("Effect", ""))
        if effect == DENY:
            return DENY
        if effect == ALLOW:
            allowed = True
    return ALLOW if allowed else None


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}`` (path as
    requested, without its leading slash)."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


# ------------------------------------------------------------------------- cache
class AuthorizerCache:
    """Authorizer outputs by (authorizer, identity values), each for its TTL; ``clock`` is
    injectable so tests can move time."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self.clock() >= entry[0]:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[Any, ...], output: dict[str, Any], ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self.clock() + ttl, output)


# ------------------------------------------------------------------------- one request
@dataclass
class AuthRequest:
    """What an authorizer may look at."""

    method: str
    path: str
    resource: str
    method_arn: str
    headers: Mapping[str, str]
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: the REST proxy event of the request (REQUEST authorizers receive its fields)
    event: Mapping[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass
class Decision:
    """None ``status``: go on, with ``context`` as ``requestContext.authorizer``."""

    status: int | None = None
    body: Any = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    context: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.status is None


def unauthorized() -> Decision:
    return Decision(401, {"message": "Unauthorized"})


def configuration_error() -> Decision:
    return Decision(
        500,
        {"message": None},
        {"x-amzn-ErrorType": ["AuthorizerConfigurationException"]},
    )


def _context_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


class LambdaAuthorizer:
    """One Lambda authorizer of the template, invoked through the harness's runtime."""

    def __init__(
        self,
        spec: AuthorizerSpec,
        invoker: Invoker,
        cache: AuthorizerCache,
        log: Callable[[str], None] = print,
    ) -> None:
        self.spec = spec
        self.invoker = invoker
        self.cache = cache
        self.log = log

    def identity(self, request: AuthRequest) -> tuple[str, ...] | None:
        """The identity source values; None when one is missing or empty."""
        spec = self.spec
        if spec.kind == REQUEST:
            values: list[str | None] = [request.header(h) for h in spec.headers]
            for name in spec.query_strings:
                given = list(request.query.get(name) or [])
                values.append(given[-1] if given else None)
        else:
            values = [request.header(spec.header)]
        if any(not v for v in values):
            return None
        return tuple(str(v) for v in values)

    def event(self, request: AuthRequest, identity: tuple[str, ...]) -> dict[str, Any]:
        if self.spec.kind != REQUEST:
            return {
                "type": "TOKEN",
                "authorizationToken": identity[0],
                "methodArn": request.method_arn,
            }
        base = {k: v for k, v in request.event.items() if k not in ("body", "isBase64Encoded")}
        context = dict(base.get("requestContext") or {})
        context.pop("authorizer", None)
        return {
            "type": "REQUEST",
            "methodArn": request.method_arn,
            **base,
            "pathParameters": base.get("pathParameters") or {},
            "stageVariables": base.get("stageVariables") or {},
            "requestContext": context,
        }

    def authorize(self, request: AuthRequest) -> Decision:
        spec = self.spec
        identity = self.identity(request)
        needs_identity = spec.kind != REQUEST or spec.ttl > 0 or spec.headers or spec.query_strings
        if identity is None and needs_identity:
            return unauthorized()
        identity = identity or ()
        if spec.validation and spec.kind != REQUEST:
            try:
                if not re.fullmatch(spec.validation, identity[0]):
                    return unauthorized()
            except re.error:
                return configuration_error()
        key = (spec.api, spec.name, *identity)
        output = self.cache.get(key) if spec.ttl > 0 else None
        latency = 0
        if output is None:
            result = self.invoker.invoke(
                self.event(request, identity), trigger=f"authorizer {spec.name}"
            )
            latency = int(result.duration_ms)
            if not result.ok:
                if str((result.error or {}).get("errorMessage", "")) == "Unauthorized":
                    return unauthorized()
                return configuration_error()
            checked = _checked_output(result.payload)
            if checked is None:
                self.log(
                    f"authorizer {spec.name}: output is not an authorizer response "
                    "(principalId, policyDocument, context of strings/numbers/booleans)"
                )
                return configuration_error()
            output = checked
            self.cache.put(key, output, spec.ttl)
        effect = evaluate_policy(output["policyDocument"], request.method_arn)
        if effect == DENY:
            return Decision(403, {"message": EXPLICIT_DENY})
        if effect is None:
            return Decision(403, {"message": IMPLICIT_DENY})
        context = {k: _context_value(v) for k, v in (output.get("context") or {}).items()}
        return Decision(
            context={**context, "principalId": output["principalId"], "integrationLatency": latency}
        )


def _checked_output(payload: Any) -> dict[str, Any] | None:
    if not isinstance(payload, Mapping):
        return None
    document = payload.get("policyDocument")
    if not isinstance(document, Mapping) or payload.get("principalId") in (None, ""):
        return None
    context = payload.get("context") or {}
    if not isinstance(context, Mapping) or not all(
        isinstance(v, str | int | float | bool) for v in context.values()
    ):
        return None
    return dict(payload)
