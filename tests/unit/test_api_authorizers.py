"""Unit tests of API Gateway's authorization as the harness emulates it: IAM policy evaluation of an
authorizer's answer, the authorizer result cache (with a fake clock), and what each method needs
once SAM's transform has written the template's Auth into the deployed definition."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.apigw.auth_plan import AWS_IAM, REQUEST, TOKEN
from eventflow_local.apigw.authorizers import (
    ALLOW,
    DENY,
    AuthorizerCache,
    AuthRequest,
    LambdaAuthorizer,
    evaluate_policy,
    method_arn,
)
from eventflow_local.apigw.plan import ApiPlan, plan_api
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.cfn import TemplateError
from eventflow_local.template.sam import SamTemplate

ARN = method_arn("us-east-1", "123456789012", "abc123", "dev", "POST", "/orders/7/items")


def statement(effect: str, resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --------------------------------------------------------------------------------- policies
def test_method_arn_has_the_requested_path_without_its_leading_slash():
    assert ARN == "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST/orders/7/items"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (ARN, ALLOW),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*/*", ALLOW),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST/orders/*", ALLOW),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/*", ALLOW),
        ("arn:aws:execute-api:*:*:abc123/dev/P??T/*", ALLOW),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/*", None),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*", None),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST/orders", None),
        ([ARN.replace("POST", "GET"), ARN], ALLOW),
    ],
)
def test_an_allow_statement_covers_the_method_only_when_its_resource_matches(resource, expected):
    assert evaluate_policy(doc(statement("Allow", resource)), ARN) == expected


def test_an_explicit_deny_wins_over_any_allow():
    policy = doc(statement("Allow", "*"), statement("Deny", ARN.rsplit("/", 2)[0] + "/*"))
    assert evaluate_policy(policy, ARN) == DENY


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("execute-api:*", ALLOW),
        ("*", ALLOW),
        (["s3:GetObject"], None),
        ("execute-api:ManageConnections", None),
    ],
)
def test_only_statements_for_execute_api_invoke_count(action, expected):
    assert evaluate_policy(doc(statement("Allow", ARN, action)), ARN) == expected


def test_no_statement_is_an_implicit_deny():
    assert evaluate_policy(doc(), ARN) is None


# --------------------------------------------------------------------------------- cache
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_entries_live_for_their_ttl_only():
    # GIVEN a cache on a fake clock with one entry of 300 s
    clock = Clock()
    cache = AuthorizerCache(clock)
    cache.put(("api", "auth", "token"), {"principalId": "p"}, 300)

    # WHEN time moves on
    # THEN the entry is served until the TTL has passed, then forgotten
    clock.now += 299.9
    assert cache.get(("api", "auth", "token")) == {"principalId": "p"}
    assert cache.get(("api", "auth", "other")) is None
    clock.now += 0.1
    assert cache.get(("api", "auth", "token")) is None


def test_a_zero_ttl_caches_nothing():
    cache = AuthorizerCache(Clock())
    cache.put(("k",), {"principalId": "p"}, 0)
    assert cache.get(("k",)) is None


class CountingInvoker:
    """Answers with a fixed authorizer output and counts its invocations."""

    function_name = "Authorizer"

    def __init__(self, output: Any, ok: bool = True) -> None:
        self.output, self.ok, self.events = output, ok, []

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult:
        self.events.append(event)
        if callable(self.output):
            return InvocationResult(True, payload=self.output(event))
        if not self.ok:
            return InvocationResult(
                False, error={"errorType": "Exception", "errorMessage": self.output}
            )
        return InvocationResult(True, payload=self.output)


def request(method: str, path: str, token: str | None = "Bearer t") -> AuthRequest:
    return AuthRequest(
        method=method,
        path=path,
        resource=path,
        method_arn=method_arn("us-east-1", "123456789012", "abc123", "dev", method, path),
        headers={"Authorization": token} if token else {},
    )


def spec(ttl: int = 300, **extra: Any) -> Any:
    from eventflow_local.apigw.auth_plan import AuthorizerSpec

    return AuthorizerSpec("Auth", extra.pop("kind", TOKEN), "Api", "Fn", ttl=ttl, **extra)


def test_a_cached_narrow_policy_refuses_another_method_until_it_expires():
    # GIVEN an authorizer that allows exactly the method ARN it is first called for, cached 300 s
    clock = Clock()
    first = request("GET", "/orders")
    invoker = CountingInvoker(
        lambda event: {
            "principalId": "p",
            "policyDocument": doc(statement("Allow", event["methodArn"])),
        }
    )
    authorizer = LambdaAuthorizer(spec(300), invoker, AuthorizerCache(clock), log=lambda _: None)

    # WHEN the same token calls GET /orders, then POST /orders within the TTL, then after it
    assert authorizer.authorize(first).allowed
    within = authorizer.authorize(request("POST", "/orders"))
    runs_within = len(invoker.events)
    clock.now += 301
    after = authorizer.authorize(request("POST", "/orders"))

    # THEN the cached policy refuses POST (403, implicit deny) without a second run; after the
    # TTL the authorizer runs again, for POST, and its new policy allows it
    assert (within.status, within.body, runs_within) == (
        403,
        {"message": "User is not authorized to access this resource"},
        1,
    )
    assert after.allowed and len(invoker.events) == 2


def test_identity_values_key_the_cache_and_a_missing_token_never_invokes():
    invoker = CountingInvoker({"principalId": "p", "policyDocument": doc(statement("Allow", "*"))})
    authorizer = LambdaAuthorizer(spec(300), invoker, AuthorizerCache(Clock()), log=lambda _: None)
    assert authorizer.authorize(request("GET", "/a", "Bearer one")).allowed
    assert authorizer.authorize(request("GET", "/b", "Bearer one")).allowed
    assert authorizer.authorize(request("GET", "/a", "Bearer two")).allowed
    assert authorizer.authorize(request("GET", "/a", None)).status == 401
    assert authorizer.authorize(request("GET", "/a", "")).status == 401
    assert len(invoker.events) == 2
    assert invoker.events[0] == {
        "type": "TOKEN",
        "authorizationToken": "Bearer one",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/a",
    }


@pytest.mark.parametrize(
    ("output", "ok", "status"),
    [
        ("Unauthorized", False, 401),
        ("boom", False, 500),
        ({"policyDocument": doc(statement("Allow", "*"))}, True, 500),  # no principalId
        ({"principalId": "p"}, True, 500),  # no policy
        (
            {
                "principalId": "p",
                "policyDocument": doc(statement("Allow", "*")),
                "context": {"a": [1]},
            },
            True,
            500,
        ),
        ({"principalId": "p", "policyDocument": doc(statement("Deny", "*"))}, True, 403),
    ],
)
def test_authorizer_outcomes_map_to_api_gateway_answers(output, ok, status):
    authorizer = LambdaAuthorizer(
        spec(0), CountingInvoker(output, ok), AuthorizerCache(Clock()), log=lambda _: None
    )
    assert authorizer.authorize(request("GET", "/a")).status == status


def test_context_values_reach_the_route_stringified_with_the_principal():
    output = {
        "principalId": "user-1",
        "policyDocument": doc(statement("Allow", "*")),
        "context": {"s": "x", "n": 3, "f": 1.5, "b": False},
    }
    authorizer = LambdaAuthorizer(
        spec(0), CountingInvoker(output), AuthorizerCache(Clock()), log=lambda _: None
    )
    decision = authorizer.authorize(request("GET", "/a"))
    assert decision.context is not None
    assert {k: v for k, v in decision.context.items() if k != "integrationLatency"} == {
        "s": "x",
        "n": "3",
        "f": "1.5",
        "b": "false",
        "principalId": "user-1",
    }


def test_a_token_not_matching_the_validation_expression_is_401_without_a_run():
    invoker = CountingInvoker({"principalId": "p", "policyDocument": doc(statement("Allow", "*"))})
    authorizer = LambdaAuthorizer(
        spec(0, validation="^Bearer [a-z]+$"), invoker, AuthorizerCache(Clock()), log=lambda _: None
    )
    assert authorizer.authorize(request("GET", "/a", "Bearer ABC")).status == 401
    assert authorizer.authorize(request("GET", "/a", "Bearer abc")).allowed
    assert len(invoker.events) == 1


def test_request_authorizer_needs_every_identity_source_and_caches_on_all_of_them():
    invoker = CountingInvoker({"principalId": "p", "policyDocument": doc(statement("Allow", "*"))})
    authorizer = LambdaAuthorizer(
        spec(300, kind=REQUEST, headers=("X-User",), query_strings=("tenant",)),
        invoker,
        AuthorizerCache(Clock()),
        log=lambda _: None,
    )

    def req(user: str | None, tenant: str | None) -> AuthRequest:
        base = request("GET", "/t")
        base.headers = {"x-user": user} if user else {}
        base.query = {"tenant": [tenant]} if tenant else {}
        base.event = {"resource": "/t", "path": "/t", "httpMethod": "GET", "headers": base.headers}
        return base

    assert req("ann", None) and authorizer.authorize(req("ann", None)).status == 401
    assert authorizer.authorize(req(None, "acme")).status == 401
    assert authorizer.authorize(req("ann", "acme")).allowed
    assert authorizer.authorize(req("ann", "acme")).allowed
    assert authorizer.authorize(req("ann", "other")).allowed
    assert len(invoker.events) == 2
    assert invoker.events[0]["type"] == "REQUEST" and invoker.events[0]["resource"] == "/t"


# --------------------------------------------------------------------------------- the template
HEAD = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
"""
FUNCTION = """\
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.13
      Events:
"""


def template(tmp_path: Path, before: str, events: str, after: str = "") -> SamTemplate:
    """A template: ``before`` (Globals, and Resources up to the function), the function with
    ``events`` (one per line, at event level), then ``after`` (more resources, indented)."""
    (tmp_path / "fn").mkdir(exist_ok=True)
    lines = "".join(f"        {line.strip()}\n" for line in events.strip().splitlines())
    path = tmp_path / "template.yaml"
    path.write_text(HEAD + textwrap.dedent(before) + FUNCTION + lines + after)
    return SamTemplate(path)


def plan_of(t: SamTemplate) -> ApiPlan:
    return plan_api(t, set(t.functions()))


def needs(t: SamTemplate) -> dict[str, tuple[str | None, bool]]:
    return {
        f"{o.method} {o.path}": (
            o.auth.authorizer.name if o.auth.authorizer else None,
            o.auth.api_key_required,
        )
        for o in plan_of(t).operations
    }


API = """\
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
{auth}
"""


def test_globals_api_auth_applies_to_the_implicit_api_and_events_override_it(tmp_path):
    t = template(
        tmp_path,
        """\
        Globals:
          Api:
            Auth:
              DefaultAuthorizer: AWS_IAM
              ApiKeyRequired: true
        Resources:
        """,
        """
        A: {Type: Api, Properties: {Path: /a, Method: GET}}
        B: {Type: Api, Properties: {Path: /b, Method: GET, Auth: {Authorizer: NONE, ApiKeyRequired: false}}}
        """,
    )
    assert needs(t) == {"GET /a": (AWS_IAM, True), "GET /b": (None, False)}


def test_no_auth_anywhere_means_open_routes(tmp_path):
    t = template(tmp_path, "Resources:\n", "A: {Type: Api, Properties: {Path: /a, Method: POST}}")
    plan = plan_of(t)
    assert [o.auth.open for o in plan.operations] == [True]
    assert not plan.key_stages() and not plan.api_keys


def test_an_undefined_default_authorizer_is_refused_by_sams_transform(tmp_path):
    # GIVEN a DefaultAuthorizer that Authorizers does not define
    # WHEN the template is read as deployed
    # THEN SAM's own transform refuses it, in one line
    with pytest.raises(TemplateError, match="'Missing' was not defined in 'Authorizers'"):
        t = template(
            tmp_path,
            API.format(
                auth="        DefaultAuthorizer: Missing\n"
                "        Authorizers:\n"
                "          Tok: {FunctionArn: !GetAtt Fn.Arn}"
            ),
            "A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /a, Method: GET}}",
        )
        plan_of(t)


def test_lambda_and_cognito_authorizers_are_read_with_sam_defaults(tmp_path):
    auth = """\
        DefaultAuthorizer: Tok
        Authorizers:
          Tok: {FunctionArn: !GetAtt Fn.Arn}
          Pool: {UserPoolArn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/x"}"""
    t = template(
        tmp_path,
        API.format(auth=auth),
        """
        A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /a, Method: GET}}
        B: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /b, Method: GET, Auth: {Authorizer: Pool}}}
        """,
    )
    specs = {
        o.auth.authorizer.name: o.auth.authorizer
        for o in plan_of(t).operations
        if o.auth.authorizer
    }
    tok = specs["Tok"]
    assert (tok.kind, tok.function, tok.header, tok.ttl) == (TOKEN, "Fn", "Authorization", 300)
    assert specs["Pool"].kind == "COGNITO_USER_POOLS" and not specs["Pool"].is_lambda


def test_a_key_opens_a_stage_only_through_a_usage_plan_and_a_keyless_one_is_generated(tmp_path):
    # GIVEN a method that requires a key, SAM's usage plan for the API (which makes a key with
    # no Value), and a declared key that no usage plan holds
    auth = """\
        ApiKeyRequired: true
        UsagePlan: {CreateUsagePlan: PER_API}"""
    key = (
        "  Loose:\n"
        "    Type: AWS::ApiGateway::ApiKey\n"
        "    Properties: {Value: loose-key-0123456789abcdef, Enabled: true}\n"
    )
    t = template(
        tmp_path,
        API.format(auth=auth),
        "A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /a, Method: GET}}",
        key,
    )

    # WHEN the plan is read
    plan = plan_of(t)

    # THEN only the plan's generated key opens the stage; the loose key is refused as on AWS
    ((value, lid),) = plan.api_keys.items()
    assert lid == "ApiApiKey" and value.startswith("local") and len(value) >= 20
    assert plan.plans.check("Api", "dev", value) == (
        None,
        plan.plans.keys[[k.lid for k in plan.plans.keys].index(lid)],
    )
    assert plan.plans.check("Api", "dev", "loose-key-0123456789abcdef")[0] == "Forbidden"
    assert any(f"x-api-key: {value}" in line and "generated" in line for line in plan.describe(""))


# --------------------------------------------------------------------------------- our authorizer
def test_our_authorizer_policy_covers_every_method_of_the_stage():
    from eventflow.authz import api_resource, policy

    # GIVEN the method ARN our authorizer is called with for one write route
    # WHEN it builds its Allow policy
    allow = policy("api-client", "Allow", api_resource(ARN))

    # THEN the policy, cached per token, also allows the API's other methods of that stage
    for method, path in (("POST", "/accounts"), ("DELETE", "/accounts/a1"), ("PATCH", "/x/y/z")):
        other = method_arn("us-east-1", "123456789012", "abc123", "dev", method, path)
        assert evaluate_policy(allow["policyDocument"], other) == ALLOW
    assert evaluate_policy(allow["policyDocument"], ARN.replace("/dev/", "/prod/")) is None
    with pytest.raises(ValueError):
        api_resource("not-an-arn")


def test_an_authorizer_function_of_another_stack_is_named_and_the_local_token_stands_in(tmp_path):
    # GIVEN a default authorizer whose FunctionArn is a literal ARN outside the template
    auth = """\
        DefaultAuthorizer: Ext
        Authorizers:
          Ext: {FunctionArn: "arn:aws:lambda:us-east-1:999999999999:function:shared-auth"}"""
    t = template(
        tmp_path,
        API.format(auth=auth),
        "A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /a, Method: GET}}",
    )

    # WHEN the harness reads what the route needs
    plan = plan_of(t)

    # THEN the route is protected, not by running a function it does not have, and it says so
    (operation,) = plan.operations
    assert operation.auth.authorizer is not None and not operation.auth.authorizer.is_lambda
    assert plan.skipped == [
        "Api: authorizer Ext: its authorizerUri is no function of this template and cannot run "
        "locally: the local token (LOCAL_API_TOKEN) stands in"
    ]


def test_a_usage_plans_per_method_throttle_limits_that_method_on_top_of_the_plan(tmp_path):
    # GIVEN a key in a usage plan of the dev stage (plan: 100/s, burst 100) whose ApiStages entry
    # throttles POST /orders/ (written with SAM's trailing slash) to 1/s with a burst of 2
    auth = "        ApiKeyRequired: true"
    plan_resources = (
        "  Key:\n"
        "    Type: AWS::ApiGateway::ApiKey\n"
        "    Properties: {Value: method-key-0123456789abcdef, Enabled: true}\n"
        "  Plan:\n"
        "    Type: AWS::ApiGateway::UsagePlan\n"
        "    Properties:\n"
        "      Throttle: {RateLimit: 100, BurstLimit: 100}\n"
        "      ApiStages:\n"
        "        - ApiId: !Ref Api\n"
        "          Stage: !Ref ApidevStage\n"
        "          Throttle:\n"
        "            /orders/POST: {RateLimit: 1, BurstLimit: 2}\n"
        "  PlanKey:\n"
        "    Type: AWS::ApiGateway::UsagePlanKey\n"
        "    Properties: {KeyId: !Ref Key, KeyType: API_KEY, UsagePlanId: !Ref Plan}\n"
    )
    t = template(
        tmp_path,
        API.format(auth=auth),
        """
        Post: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /orders/, Method: POST}}
        Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /orders/, Method: GET}}
        """,
        plan_resources,
    )
    plans = plan_of(t).plans
    now = [0.0]
    plans.clock = lambda: now[0]
    key = "method-key-0123456789abcdef"

    # WHEN POST /orders/ is called three times at once, GET as often, then POST a second later
    posts = [plans.check("Api", "dev", key, ("/orders/", "POST"))[0] for _ in range(3)]
    gets = [plans.check("Api", "dev", key, ("/orders/", "GET"))[0] for _ in range(3)]
    now[0] = 1.0
    later = plans.check("Api", "dev", key, ("/orders/", "POST"))[0]

    # THEN POST is throttled after its burst of 2 (429 Too Many Requests) and refills at 1/s,
    # while GET has only the plan's limits
    assert posts == [None, None, "Too Many Requests"]
    assert gets == [None, None, None]
    assert later is None
