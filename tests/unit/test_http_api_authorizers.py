"""HTTP API Lambda authorizers (apigw/http_authorizers.py) and CORS (apigw/http_cors.py): the event
each payload format sends, how each answer is read, identity sources, the cache."""

from __future__ import annotations

from typing import Any

from eventflow_local.apigw.authorizers import AuthorizerCache
from eventflow_local.apigw.http_authorizers import HttpAuthRequest, HttpLambdaAuthorizer
from eventflow_local.apigw.http_cors import CorsConfig
from eventflow_local.apigw.httpapi import HttpAuthorizerSpec, HttpRoute, http_event
from eventflow_local.events.apigateway import api_event
from eventflow_local.runtime.invocation import InvocationResult

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/live/GET/orders/7"
ROUTE = HttpRoute("GET", "/orders/{id}", "Echo", "GET /orders/{id}", "Api")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Invoker:
    """Answers ``output`` (or raises when ``ok`` is False) and keeps the events it got."""

    function_name = "Authorizer"

    def __init__(self, output: Any, ok: bool = True) -> None:
        self.output, self.ok, self.events = output, ok, []

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult:
        self.events.append(event)
        if not self.ok:
            return InvocationResult(False, error={"errorType": "Exception", "errorMessage": "x"})
        return InvocationResult(True, payload=self.output)


def request(headers: dict[str, str], query: str = "", arn: str = ARN) -> HttpAuthRequest:
    event = http_event(
        ROUTE,
        "GET",
        "/live/orders/7",
        query,
        list(headers.items()),
        b"secret body",
        {"id": "7"},
        "10.0.0.1",
        "abc123",
        stage="live",
        stage_variables={"flavour": "vanilla"},
    )

    def v1() -> dict[str, Any]:
        return api_event(
            "GET", "/live/orders/7", resource="/orders/{id}", headers=headers, query=query
        )

    return HttpAuthRequest(arn, event, v1)


def authorizer(invoker: Invoker, cache: AuthorizerCache | None = None, **spec: Any):
    defaults: dict[str, Any] = {
        "api": "Api",
        "name": "TenantAuth",
        "kind": "REQUEST",
        "function": "AuthFn",
        "identity_sources": ("$request.header.X-User", "$request.querystring.tenant"),
    }
    return HttpLambdaAuthorizer(
        HttpAuthorizerSpec(**{**defaults, **spec}), invoker, cache or AuthorizerCache(), print
    )


SIMPLE_YES = {"isAuthorized": True, "context": {"user": "ann", "groups": ["a", "b"]}}


def policy(effect: str, resource: str = "arn:aws:execute-api:*") -> dict[str, Any]:
    return {
        "principalId": "ann",
        "policyDocument": {
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]
        },
        "context": {"role": "reader"},
    }


# ------------------------------------------------------------------------- identity sources
def test_a_missing_identity_source_is_401_without_invoking_the_function():
    # GIVEN an authorizer whose identity is a header AND a query string
    invoker = Invoker(SIMPLE_YES)
    auth = authorizer(invoker, simple_responses=True)

    # WHEN the header is sent without the query string, then with an empty query string
    only_header = auth.authorize(request({"X-User": "ann"}))
    empty_query = auth.authorize(request({"X-User": "ann"}, "tenant="))

    # THEN both are 401 Unauthorized, and the function never ran
    for decision in (only_header, empty_query):
        assert (decision.status, decision.body) == (401, {"message": "Unauthorized"})
    assert invoker.events == []


# ------------------------------------------------------------------------- payload 2.0
def test_payload_2_sends_the_request_event_with_identity_route_arn_and_no_body():
    # GIVEN a 2.0 authorizer with simple responses
    invoker = Invoker(SIMPLE_YES)
    auth = authorizer(invoker, simple_responses=True)

    # WHEN a request with both identity sources is authorized
    decision = auth.authorize(request({"X-User": "ann", "Cookie": "c=1"}, "tenant=acme&x=1"))

    # THEN the function got the 2.0 authorizer event, and the request goes on with its context
    event = invoker.events[0]
    assert event["version"] == "2.0" and event["type"] == "REQUEST"
    assert event["identitySource"] == ["ann", "acme"]
    assert event["routeArn"] == ARN and event["routeKey"] == "GET /orders/{id}"
    assert event["rawPath"] == "/live/orders/7" and event["rawQueryString"] == "tenant=acme&x=1"
    assert event["cookies"] == ["c=1"] and event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"flavour": "vanilla"}
    assert "body" not in event
    assert decision.allowed
    assert decision.context == {"context": SIMPLE_YES["context"], "principalId": None}


def test_simple_responses_not_authorized_is_403_and_a_wrong_shape_is_500():
    # GIVEN 2.0 simple-response authorizers answering false, a non-boolean, or failing
    answers = {
        "false": Invoker({"isAuthorized": False}),
        "string": Invoker({"isAuthorized": "true"}),
        "failed": Invoker(None, ok=False),
    }

    # WHEN each authorizes a request with its identity
    got = {
        name: authorizer(inv, simple_responses=True).authorize(
            request({"X-User": "ann"}, "tenant=acme")
        )
        for name, inv in answers.items()
    }

    # THEN false is Forbidden; anything but a boolean, or an error, is API Gateway's 500
    assert (got["false"].status, got["false"].body) == (403, {"message": "Forbidden"})
    for name in ("string", "failed"):
        assert (got[name].status, got[name].body) == (500, {"message": "Internal Server Error"})


def test_a_2_0_authorizer_without_simple_responses_answers_an_iam_policy():
    # GIVEN a 2.0 authorizer with IAM answers, allowing and denying
    allow = authorizer(Invoker(policy("Allow")))
    deny = authorizer(Invoker(policy("Deny")))
    simple_answer = authorizer(Invoker(SIMPLE_YES))

    # WHEN each authorizes the same request
    req = request({"X-User": "ann"}, "tenant=acme")
    allowed, denied, wrong = allow.authorize(req), deny.authorize(req), simple_answer.authorize(req)

    # THEN the policy decides; a simple answer where a policy is expected is a 500
    assert allowed.allowed and allowed.context == {
        "context": {"role": "reader"},
        "principalId": "ann",
    }
    assert denied.status == 403 and denied.body == {"message": "Forbidden"}
    assert wrong.status == 500


# ------------------------------------------------------------------------- payload 1.0
def test_payload_1_sends_the_rest_request_authorizer_event_and_reads_a_policy():
    # GIVEN a 1.0 authorizer identified by the Authorization header
    invoker = Invoker(policy("Allow", "arn:aws:execute-api:us-east-1:*:abc123/*/GET/*"))
    auth = authorizer(
        invoker, payload_version="1.0", identity_sources=("$request.header.Authorization",)
    )

    # WHEN a GET and (with another token) a route the policy does not allow are authorized
    allowed = auth.authorize(request({"Authorization": "Bearer t"}))
    other = auth.authorize(
        request({"Authorization": "Bearer u"}, arn=ARN.replace("/GET/", "/DELETE/"))
    )

    # THEN the function got the REST REQUEST event with version 1.0 and the joined identity
    event = invoker.events[0]
    assert event["version"] == "1.0" and event["type"] == "REQUEST"
    assert event["methodArn"] == ARN
    assert event["identitySource"] == "Bearer t" and event["authorizationToken"] == "Bearer t"
    assert event["resource"] == "/orders/{id}" and event["httpMethod"] == "GET"
    assert "body" not in event
    assert allowed.allowed and allowed.context is not None
    assert allowed.context["principalId"] == "ann"
    assert other.status == 403


# ------------------------------------------------------------------------- cache
def test_answers_are_cached_per_identity_for_the_ttl_and_a_cached_policy_is_evaluated_again():
    # GIVEN a 1.0 authorizer cached 60 s whose policy allows only GET
    clock = Clock()
    invoker = Invoker(policy("Allow", "arn:aws:execute-api:*/GET/*"))
    auth = authorizer(
        invoker,
        AuthorizerCache(clock),
        payload_version="1.0",
        identity_sources=("$request.header.Authorization",),
        ttl=60,
    )
    token = {"Authorization": "Bearer t"}

    # WHEN the same identity calls GET twice, then DELETE, then GET after the TTL
    first = auth.authorize(request(token))
    second = auth.authorize(request(token))
    delete = auth.authorize(request(token, arn=ARN.replace("/GET/", "/DELETE/")))
    runs_within_ttl = len(invoker.events)
    clock.now += 61
    auth.authorize(request(token))

    # THEN one invocation served the three, the cached policy refused DELETE, and it expired
    assert first.allowed and second.allowed and delete.status == 403
    assert runs_within_ttl == 1 and len(invoker.events) == 2


def test_a_zero_ttl_invokes_every_time():
    invoker = Invoker(SIMPLE_YES)
    auth = authorizer(invoker, simple_responses=True, ttl=0)
    for _ in range(2):
        assert auth.authorize(request({"X-User": "ann"}, "tenant=acme")).allowed
    assert len(invoker.events) == 2


# ------------------------------------------------------------------------- CORS
def test_cors_preflight_and_response_headers():
    # GIVEN a configuration allowing one origin and a wildcard subdomain, with credentials
    cors = CorsConfig.from_definition(
        {
            "allowOrigins": ["https://app.example.com", "https://*.example.org"],
            "allowMethods": ["GET", "POST"],
            "allowHeaders": ["x-user"],
            "exposeHeaders": ["x-served-by"],
            "maxAge": 600,
            "allowCredentials": True,
        }
    )
    origin = {"Origin": "https://app.example.com"}

    # WHEN a preflight, an allowed request, a wildcard origin and a foreign origin are answered
    status, pre, _ = cors.preflight({**origin, "Access-Control-Request-Method": "POST"})
    allowed = cors.apply(origin, {"Access-Control-Allow-Origin": ["*"], "X-Other": ["1"]})
    wildcard = cors.apply({"Origin": "https://a.example.org"}, {})
    foreign = cors.apply({"Origin": "https://evil.example.com"}, {"Access-Control-Max-Age": ["9"]})

    # THEN the preflight is 204 with the configured headers; the integration's CORS headers are
    # replaced by the configured ones, and a foreign origin gets none
    assert CorsConfig.is_preflight("OPTIONS", {**origin, "access-control-request-method": "GET"})
    assert not CorsConfig.is_preflight("OPTIONS", origin)
    assert status == 204
    assert pre == {
        "Access-Control-Allow-Origin": ["https://app.example.com"],
        "Access-Control-Allow-Methods": ["GET,POST"],
        "Access-Control-Allow-Headers": ["x-user"],
        "Access-Control-Max-Age": ["600"],
        "Access-Control-Allow-Credentials": ["true"],
    }
    assert allowed == {
        "X-Other": ["1"],
        "Access-Control-Allow-Origin": ["https://app.example.com"],
        "Access-Control-Expose-Headers": ["x-served-by"],
        "Access-Control-Allow-Credentials": ["true"],
    }
    assert wildcard["Access-Control-Allow-Origin"] == ["https://a.example.org"]
    assert foreign == {}
