"""The local API Gateway authorizes each route as the template says, over real HTTP.

Fixture apps under tests/apps/: ``no_auth_api`` (no Auth anywhere), ``token_authorizer`` (a
Lambda TOKEN authorizer as DefaultAuthorizer, an open route, a REQUEST authorizer) and
``api_key`` (ApiKeyRequired). The authorizers are the apps' own functions, run by the harness.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def call(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, hdrs, raw = exc.code, dict(exc.headers), exc.read()
    return status, hdrs, json.loads(raw) if raw else None


def authorizer_runs(stack: Any, name: str) -> int:
    return sum(f"trigger=authorizer {name} " in line for line in stack.lines)


# --------------------------------------------------------------------------------- no Auth
def test_a_template_without_auth_leaves_every_route_open_and_sends_no_authorizer(run_app):
    # GIVEN an app whose template declares no Auth at all
    stack = run_app("no_auth_api", event_sources=False)
    api = stack.api_url

    # WHEN each route is called with no credentials at all
    got = call(f"{api}/items")
    read = call(f"{api}/items/i-1")
    created = call(
        f"{api}/items/i-2", "POST", b'{"name": "x"}', {"Content-Type": "application/json"}
    )
    deleted = call(f"{api}/Prod/items/i-2", "DELETE")

    # THEN every route answers, and no event carries an authorizer context
    for status, _, body in (got, read, created, deleted):
        assert status == 200, body
        assert body["hasAuthorizer"] is False and body["authorizer"] is None
    assert created[2]["pathParameters"] == {"id": "i-2"}
    assert created[2]["body"] == '{"name": "x"}'
    assert deleted[2]["method"] == "DELETE"
    # and the start-up summary says the routes are open
    auth_line = next(line for line in stack.summary().splitlines() if "Auth " in line)
    assert "open (no authorizer): GET /items, DELETE /items/{id}, GET /items/{id}" in auth_line


# --------------------------------------------------------------------------------- Lambda TOKEN
def test_token_authorizer_allows_passes_context_and_guards_every_default_route(run_app):
    # GIVEN an API whose DefaultAuthorizer is the app's TOKEN authorizer function
    stack = run_app("token_authorizer", event_sources=False)
    api = stack.api_url

    # WHEN the open route is called without a token, and a protected one without / with tokens
    health = call(f"{api}/health")
    missing = call(f"{api}/orders")
    malformed = call(f"{api}/orders", headers={"Authorization": "Basic abc"})
    allowed = call(f"{api}/orders", headers={"Authorization": "Bearer wide"})

    # THEN the open route answers without authorizer context; missing or malformed tokens are
    # refused by API Gateway itself (the authorizer function never ran for them)
    assert health[0] == 200 and health[2]["hasAuthorizer"] is False
    assert missing[:1] == (401,) and missing[2] == {"message": "Unauthorized"}
    assert malformed[0] == 401 and malformed[2] == {"message": "Unauthorized"}
    # and an allowed call carries the authorizer's context, stringified, and its principal
    assert allowed[0] == 200, allowed
    context = allowed[2]["authorizer"]
    assert context["principalId"] == "user-ann"
    assert (context["user"], context["admin"], context["level"]) == ("ann", "true", "3")
    assert "integrationLatency" in context
    assert authorizer_runs(stack, "TokenAuth") == 1


@pytest.mark.parametrize(
    ("token", "status", "body"),
    [
        (
            "deny",
            403,
            {"message": "User is not authorized to access this resource with an explicit deny"},
        ),
        ("unauthorized", 401, {"message": "Unauthorized"}),
        ("broken", 500, {"message": None}),
        ("nested-context", 500, {"message": None}),
    ],
)
def test_token_authorizer_refusals_answer_as_api_gateway(run_app, token, status, body):
    # GIVEN the TOKEN authorizer app
    stack = run_app("token_authorizer", event_sources=False)

    # WHEN a protected route is called with a token the authorizer denies, rejects or fails on
    got = call(f"{stack.api_url}/orders", "POST", b"{}", {"Authorization": f"Bearer {token}"})

    # THEN API Gateway's answer for that outcome comes back, and the route's function never ran
    assert (got[0], got[2]) == (status, body)
    if status == 500:
        assert got[1]["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert not any("trigger=api POST /orders" in line for line in stack.lines)


def test_a_cached_narrow_policy_refuses_the_other_routes_within_the_ttl(run_app):
    # GIVEN an authorizer whose policy allows only the method ARN it was called for, cached 300 s
    stack = run_app("token_authorizer", event_sources=False)
    api, narrow = stack.api_url, {"Authorization": "Bearer narrow"}

    # WHEN the same token calls GET /orders, then POST /orders, then GET /orders again
    first = call(f"{api}/orders", headers=narrow)
    second = call(f"{api}/orders", "POST", b"{}", narrow)
    third = call(f"{api}/orders", headers=narrow)

    # THEN the cached policy (one authorizer run) refuses the second method, as on AWS
    assert first[0] == 200 and third[0] == 200
    assert (second[0], second[2]) == (
        403,
        {"message": "User is not authorized to access this resource"},
    )
    assert authorizer_runs(stack, "TokenAuth") == 1


def test_a_wide_policy_serves_every_route_from_one_authorizer_run(run_app):
    # GIVEN an authorizer whose policy covers arn:...:apiId/stage/*/*
    stack = run_app("token_authorizer", event_sources=False)
    api, wide = stack.api_url, {"Authorization": "Bearer wide"}

    # WHEN the token is used on two methods
    statuses = [
        call(f"{api}/orders", headers=wide)[0],
        call(f"{api}/orders", "POST", b"{}", wide)[0],
    ]

    # THEN both are allowed and the authorizer ran once
    assert statuses == [200, 200]
    assert authorizer_runs(stack, "TokenAuth") == 1


def test_request_authorizer_gets_the_request_and_runs_each_time_without_cache(run_app):
    # GIVEN a route behind a REQUEST authorizer (header X-User + query tenant, ReauthorizeEvery 0)
    stack = run_app("token_authorizer", event_sources=False)
    url = f"{stack.api_url}/tenants/t-9"

    # WHEN it is called without the query string, as a stranger, then twice as ann of acme
    missing = call(url, headers={"X-User": "ann"})
    stranger = call(url + "?tenant=acme", headers={"X-User": "bob"})
    allowed = [call(url + "?tenant=acme", headers={"X-User": "ann"}) for _ in range(2)]

    # THEN a missing identity source is a 401 without a run; the policy decides the rest
    assert (missing[0], missing[2]) == (401, {"message": "Unauthorized"})
    assert stranger[0] == 403
    for status, _, body in allowed:
        assert status == 200, body
        context = body["authorizer"]
        assert context["principalId"] == "ann" and context["tenant"] == "acme"
        # the REQUEST event had the route's resource, the path, its parameters and the method
        assert (context["resource"], context["path"]) == ("/tenants/{id}", "/tenants/t-9")
        assert (context["pathId"], context["httpMethod"]) == ("t-9", "GET")
    assert authorizer_runs(stack, "TenantAuth") == 3


# --------------------------------------------------------------------------------- API keys
def test_api_key_required_routes_need_a_key_of_the_stages_usage_plan(run_app):
    # GIVEN ApiKeyRequired on the implicit API (Globals) and an ApiKey resource with a Value,
    # held by a usage plan of the API's Prod stage
    stack = run_app("api_key", event_sources=False)
    api = stack.api_url

    # WHEN the protected routes are called without, with a wrong and with the declared key
    none = call(f"{api}/private")
    wrong = call(f"{api}/private", headers={"x-api-key": "nope"})
    good = call(f"{api}/private/p1", "POST", b"{}", {"x-api-key": "fixture-api-key-0123456789"})
    public = call(f"{api}/public")

    # THEN API Gateway's 403 for a missing or unknown key; the key's id reaches the event
    assert (none[0], none[2]) == (403, {"message": "Forbidden"})
    assert (wrong[0], wrong[2]) == (403, {"message": "Forbidden"})
    assert good[0] == 200 and good[2]["apiKey"] == "fixture-api-key-0123456789"
    assert good[2]["apiKeyId"] == "FixtureKey"
    assert public[0] == 200 and public[2]["hasAuthorizer"] is False


def test_a_key_without_a_value_is_generated_and_printed(run_app):
    # GIVEN ApiKeyRequired and an AWS::ApiGateway::ApiKey without a Value in the usage plan
    stack = run_app("api_key", parameters={"DeclareKey": "no"}, event_sources=False)
    (key,) = stack.auth.api_keys

    # WHEN the start-up summary is read and the key it prints is sent
    summary = stack.summary()
    got = call(f"{stack.api_url}/private", headers={"x-api-key": key})

    # THEN the summary names the key and the route it opens, and the key works
    assert f"x-api-key: {key}" in summary and "GET /private" in summary
    assert got[0] == 200
    assert (
        call(f"{stack.api_url}/private", headers={"x-api-key": "fixture-api-key-0123456789"})[0]
        == 403
    )


# --------------------------------------------------------------------------------- our template
def test_our_lambda_token_authorizer_reads_the_generated_secret_and_covers_every_route(
    kafka_bootstrap, tmp_path
):
    from eventflow_local.stack import Stack

    # GIVEN our template with ApiAuth=LambdaTokenAuthorizer: ApiAuthorizerFunction checks the
    # bearer token against ApiTokenSecret, which the harness generated in moto's Secrets Manager
    lines: list[str] = []
    with Stack(
        parameters={"ApiAuth": "LambdaTokenAuthorizer"},
        functions=["AccountsApiFunction", "TransactionsApiFunction", "ApiAuthorizerFunction"],
        event_sources=False,
        port=0,
        state_dir=tmp_path,
        bootstrap_servers=kafka_bootstrap,
        environ={},
        log=lines.append,
    ) as stack:
        stack.lines = lines  # type: ignore[attr-defined]
        token = stack.secret_value("ApiTokenSecret")
        good = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json.dumps({"name": "Ann", "number": "PL1", "status": "active"}).encode()

        # WHEN writes are sent without a token, with a wrong one, then with the secret's token on
        # two different routes within the authorizer's 300 s cache
        missing = call(f"{stack.api_url}/accounts", "POST", body)
        wrong = call(
            f"{stack.api_url}/accounts", "POST", body, {**good, "Authorization": "Bearer x"}
        )
        account = call(f"{stack.api_url}/accounts", "POST", body, good)
        txn = json.dumps({"accountId": account[2]["id"]}).encode()
        transaction = call(f"{stack.api_url}/transactions", "POST", txn, good)
        read = call(f"{stack.api_url}/accounts/{account[2]['id']}")

        # THEN 401 without a token, 403 for a wrong one, and the policy of the one authorizer run
        # (the API's whole stage) lets the token through on both routes; reads stay open
        assert (missing[0], missing[2]) == (401, {"message": "Unauthorized"})
        assert wrong[0] == 403
        assert account[0] == 201, account
        assert transaction[0] == 201, transaction
        assert read[0] == 200
        assert authorizer_runs(stack, "LambdaTokenAuthorizer") == 2  # the wrong token, the good one
        # and the start-up summary says where the token is
        summary = stack.summary()
        assert "Lambda TOKEN authorizer LambdaTokenAuthorizer runs ApiAuthorizerFunction" in summary
        assert f"--secret-id {stack.secrets['ApiTokenSecret']}" in summary
