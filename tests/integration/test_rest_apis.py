"""REST APIs served from what CloudFormation deploys, over real HTTP against a started stack.

Fixture apps under tests/apps/: ``rest_validation`` (SAM's Models, RequestModel, RequestParameters,
GatewayResponses, Cors, stage Variables, a greedy route), ``usage_plan`` (SAM's Auth.UsagePlan:
throttle and quota), ``cfn_rest_api`` (plain AWS::ApiGateway::* resources, no SAM) and
``rest_definition_body`` (the user's own OpenAPI 3 DefinitionBody).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def call(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **(headers or {})} if data else headers or {}
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, hdrs, raw = exc.code, dict(exc.headers), exc.read()
    try:
        return status, hdrs, json.loads(raw) if raw else None
    except ValueError:
        return status, hdrs, raw.decode()


def runs(stack: Any, what: str) -> int:
    return sum(f"trigger={what} " in line for line in stack.lines)


# --------------------------------------------------------------------------------- SAM's forms
def test_sam_models_validate_the_request_before_the_function_runs(run_app):
    # GIVEN RequestModel (ValidateBody, ValidateParameters) and required query/header parameters
    stack = run_app("rest_validation", event_sources=False)
    url = f"{stack.api_url}/live/orders"
    good = {"item": "tea", "quantity": 2}
    client = {"X-Client": "web"}

    # WHEN orders are posted without the parameters, with a bad body, then correctly
    no_params = call(url, "POST", good)
    bad_body = call(f"{url}?shop=north", "POST", {"item": "tea", "quantity": 0}, client)
    extra = call(f"{url}?shop=north", "POST", {**good, "colour": "red"}, client)
    ok = call(f"{url}?shop=north", "POST", good, client)

    # THEN API Gateway's 400s come first, the body one customised by GatewayResponses
    assert (no_params[0], no_params[2]) == (
        400,
        {"message": "Missing required request parameters: [shop, X-Client]"},
    )
    assert (bad_body[0], bad_body[2]) == (
        400,
        {"error": "Invalid request body", "type": "BAD_REQUEST_BODY"},
    )
    assert bad_body[1]["X-Shop-Error"] == "validation"
    assert extra[0] == 400
    assert ok[0] == 200 and json.loads(ok[2]["body"]) == good
    assert runs(stack, "api POST /orders") == 1


def test_routes_stage_variables_trailing_slash_greedy_path_and_cors_preflight(run_app):
    # GIVEN an API with specific routes, a greedy {proxy+} ANY route, stage variables and Cors
    stack = run_app("rest_validation", event_sources=False)
    base = stack.api_url

    # WHEN the routes are called with and without a trailing slash, and a preflight is sent
    plain = call(f"{base}/live/plantest")
    slash = call(f"{base}/live/plantest/")
    item = call(f"{base}/live/items/i-7")
    deep = call(f"{base}/live/items/i-7/parts", "DELETE")
    preflight = call(f"{base}/live/orders", "OPTIONS")
    unknown = call(f"{base}/nowhere/at/all")

    # THEN /plantest and /plantest/ reach one resource; a specific path wins over the greedy one
    assert plain[2]["resource"] == slash[2]["resource"] == "/plantest"
    assert plain[2]["stageVariables"] == {"flavour": "vanilla"} and plain[2]["stage"] == "live"
    assert item[2]["resource"] == "/items/{id}" and item[2]["pathParameters"] == {"id": "i-7"}
    assert deep[2]["resource"] == "/{proxy+}" and deep[2]["method"] == "DELETE"
    assert deep[2]["pathParameters"] == {"proxy": "items/i-7/parts"}
    # and the CORS preflight is SAM's mock integration: its status and headers, no function run
    assert preflight[0] == 200
    assert preflight[1]["Access-Control-Allow-Origin"] == "https://shop.example"
    assert preflight[1]["Access-Control-Allow-Methods"] == "GET,POST"
    assert runs(stack, "api OPTIONS /orders") == 0
    # and without the stage prefix the first stage serves, the greedy route included
    assert unknown[0] == 200 and unknown[2]["resource"] == "/{proxy+}"


def test_usage_plan_throttle_and_quota_answer_429_with_api_gateways_texts(run_app):
    # GIVEN two APIs with SAM-made usage plans: one throttled (1/s, burst 2), one metered (3/day)
    stack = run_app("usage_plan", event_sources=False)
    keys = {lid: value for value, lid in stack.auth.api_keys.items()}
    base = stack.api_url

    # WHEN calls are made without a key, then in quick succession with each API's key
    missing = call(f"{base}/prod/fast")
    wrong = call(f"{base}/prod/fast", headers={"x-api-key": keys["MeteredApiKey"]})
    fast = [
        call(f"{base}/prod/fast", headers={"x-api-key": keys["ThrottledApiKey"]}) for _ in range(4)
    ]
    counted = [
        call(f"{base}/metered/counted", headers={"x-api-key": keys["MeteredApiKey"]})
        for _ in range(4)
    ]

    # THEN no key, or another plan's key, is 403; beyond the burst 429 Too Many Requests;
    # beyond the quota 429 Limit Exceeded
    assert (missing[0], missing[2]) == (403, {"message": "Forbidden"})
    assert (wrong[0], wrong[2]) == (403, {"message": "Forbidden"})
    assert [s for s, _, _ in fast[:2]] == [200, 200]
    assert (fast[3][0], fast[3][2]) == (429, {"message": "Too Many Requests"})
    assert [s for s, _, _ in counted[:3]] == [200, 200, 200]
    assert (counted[3][0], counted[3][2]) == (429, {"message": "Limit Exceeded"})
    # and the generated keys are printed at start-up
    summary = stack.summary()
    assert f"x-api-key: {keys['ThrottledApiKey']}" in summary


# --------------------------------------------------------------------------------- plain CFN
def test_a_plain_cloudformation_rest_api_is_served_from_its_resources(run_app):
    # GIVEN AWS::ApiGateway::Resource/Method/Authorizer/RequestValidator/Model/GatewayResponse
    stack = run_app("cfn_rest_api", event_sources=False)
    base = stack.api_url
    auth = {"Authorization": "Bearer letmein", "X-Tenant": "t1"}

    # WHEN each method is called
    listed = call(f"{base}/beta/widgets?page=2")
    one = call(f"{base}/beta/widgets/w-1", "PATCH", {"name": "x"})
    no_token = call(f"{base}/beta/widgets", "POST", {"name": "x"}, {"X-Tenant": "t1"})
    denied = call(f"{base}/beta/widgets", "POST", {"name": "x"}, {**auth, "Authorization": "no"})
    invalid = call(f"{base}/beta/widgets", "POST", {"size": 1}, auth)
    created = call(f"{base}/beta/widgets", "POST", {"name": "gear"}, auth)
    status = call(f"{base}/beta/status")
    upstream = call(f"{base}/beta/upstream")

    # THEN the resource chain routes, with the stage's variables
    assert listed[0] == 200 and listed[2]["resource"] == "/widgets"
    assert listed[2]["stageVariables"] == {"colour": "green"} and listed[2]["query"] == {
        "page": "2"
    }
    assert one[2]["resource"] == "/widgets/{id}" and one[2]["method"] == "PATCH"
    # and the authorizer, with the customised UNAUTHORIZED response, runs before validation
    assert (no_token[0], no_token[2]) == (401, {"message": "Unauthorized"})
    assert no_token[1]["WWW-Authenticate"] == "Bearer"
    assert (denied[0], denied[2]) == (
        403,
        {"message": "User is not authorized to access this resource with an explicit deny"},
    )
    assert (invalid[0], invalid[2]) == (400, {"message": "Invalid request body"})
    assert created[0] == 200 and json.loads(created[2]["body"]) == {"name": "gear"}
    # and the mock answers its integration response; HTTP_PROXY is named and answers 500
    assert (status[0], status[2], status[1]["X-Mock"]) == (200, {"status": "green"}, "yes")
    assert (upstream[0], upstream[2]) == (500, {"message": "Internal server error"})
    assert any("http_proxy integration is not emulated" in line for line in stack.lines)


# --------------------------------------------------------------------------------- OpenAPI 3
def test_an_openapi_3_definition_body_validates_and_answers_its_mock(run_app):
    # GIVEN the user's OpenAPI 3 DefinitionBody: a default validator, a schema, a mock preflight
    stack = run_app("rest_definition_body", event_sources=False)
    base = stack.api_url

    # WHEN notes are posted, the preflight sent, and the key-protected method called
    missing = call(f"{base}/v2/notes", "POST", {"text": "hi"})
    too_long = call(f"{base}/v2/notes?author=ann", "POST", {"text": "x" * 21})
    posted = call(f"{base}/v2/notes?author=ann", "POST", {"text": "hi"})
    preflight = call(f"{base}/v2/notes", "OPTIONS")
    secret = call(f"{base}/v2/secret", headers={"x-api-key": "anything-at-all-0123456789"})

    # THEN API Gateway's validation answers come first; a valid note reaches the function
    assert (missing[0], missing[2]) == (
        400,
        {"message": "Missing required request parameters: [author]"},
    )
    assert (too_long[0], too_long[2]) == (400, {"message": "Invalid request body"})
    assert posted[0] == 200 and posted[2]["query"] == {"author": "ann"}
    # and the mock's status and headers
    assert preflight[0] == 204 and preflight[1]["Access-Control-Allow-Methods"] == "POST,OPTIONS"
    # and without a usage plan no key opens the method, as on AWS, and the start-up says so
    assert (secret[0], secret[2]) == (403, {"message": "Forbidden"})
    assert "Notes/v2: methods require an API key but no usage plan" in stack.summary()
