"""Lambda authorizers of SAM ``HttpApi`` APIs over real HTTP, run as API Gateway runs them.

``http_request_authorizer``: a REQUEST authorizer with payload 2.0 and simple responses, its
identity from a header AND a query string, cached 60 s, on a named stage with CORS.
``http_authorizer_v1``: payload 1.0 answering IAM policies, cached 300 s, on the $default stage.
"""

from __future__ import annotations

import pytest

from tests.integration.test_api_auth import authorizer_runs, call

pytestmark = pytest.mark.integration


def test_a_request_authorizer_with_simple_responses_guards_the_routes_and_passes_its_context(
    run_app,
):
    # GIVEN the TenantApi (stage "live") whose default authorizer is TenantAuth
    stack = run_app("http_request_authorizer", event_sources=False)
    api = f"{stack.api_url}/live"
    user = {"X-User": "ann"}

    # WHEN protected routes are called with part of the identity, a refused one, the right one
    no_query = call(f"{api}/orders/7", headers=user)
    no_header = call(f"{api}/orders/7?tenant=acme")
    refused = call(f"{api}/orders/7?tenant=other", headers=user)
    allowed = call(f"{api}/orders/7?tenant=acme", headers=user)
    cached = call(f"{api}/orders/7/lines?tenant=acme", "POST", b"{}", user)
    failing = call(f"{api}/orders/7?tenant=acme", headers={"X-User": "boom"})
    shapeless = call(f"{api}/orders/7?tenant=acme", headers={"X-User": "shapeless"})
    health = call(f"{api}/health")

    # THEN a missing identity source is 401 before the authorizer runs; false is 403
    assert no_query[0] == 401 and no_query[2] == {"message": "Unauthorized"}
    assert no_header[0] == 401 and no_header[2] == {"message": "Unauthorized"}
    assert refused[0] == 403 and refused[2] == {"message": "Forbidden"}
    # and an authorized request carries the authorizer's context, as its 2.0 event saw it
    assert allowed[0] == 200, allowed
    event = allowed[2]
    seen = event["requestContext"]["authorizer"]["lambda"]
    assert seen["user"] == "ann" and seen["tenant"] == "acme"
    assert seen["seenIdentity"] == ["ann", "acme"]
    assert seen["seenRouteKey"] == "GET /orders/{id}" and seen["seenType"] == "REQUEST"
    assert seen["seenVersion"] == "2.0" and seen["seenStage"] == "live"
    assert event["requestContext"]["stage"] == "live"
    assert event["stageVariables"] == {"flavour": "vanilla"}
    # the same identity on another route is the cached answer (context of the first route)
    assert cached[0] == 200
    assert cached[2]["routeKey"] == "ANY /orders/{proxy+}"
    assert cached[2]["requestContext"]["authorizer"]["lambda"]["seenRouteKey"] == (
        "GET /orders/{id}"
    )
    # an authorizer that fails or answers another shape is API Gateway's 500
    for answer in (failing, shapeless):
        assert answer[0] == 500 and answer[2] == {"message": "Internal Server Error"}
    # the open route needs nothing
    assert health[0] == 200 and "authorizer" not in health[2]["requestContext"]
    # refused + allowed + boom + shapeless ran the function; the cached call and the 401s did not
    assert authorizer_runs(stack, "TenantAuth") == 4


def test_cors_preflight_needs_no_identity_and_the_configured_headers_replace_the_functions(
    run_app,
):
    # GIVEN the TenantApi with CORS for https://app.example.com
    stack = run_app("http_request_authorizer", event_sources=False)
    api = f"{stack.api_url}/live"
    origin = {"Origin": "https://app.example.com"}

    # WHEN a preflight is sent to a protected route, and an authorized call comes from the origin
    preflight = call(
        f"{api}/orders/7",
        "OPTIONS",
        headers={**origin, "Access-Control-Request-Method": "GET"},
    )
    allowed = call(f"{api}/orders/7?tenant=acme", headers={**origin, "X-User": "ann"})
    foreign = call(f"{api}/health", headers={"Origin": "https://evil.example.com"})

    # THEN the gateway answers the preflight itself, without the authorizer
    assert preflight[0] == 204
    assert preflight[1]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert preflight[1]["Access-Control-Allow-Methods"] == "GET,POST"
    assert preflight[1]["Access-Control-Allow-Headers"] == "x-user,content-type"
    assert preflight[1]["Access-Control-Max-Age"] == "600"
    assert authorizer_runs(stack, "TenantAuth") == 1
    # and the function's own CORS header is replaced by the configured ones
    assert allowed[1]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed[1]["Access-Control-Expose-Headers"] == "x-served-by"
    assert allowed[1]["X-Served-By"] == "echo"
    assert "Access-Control-Allow-Origin" not in foreign[1]


def test_a_payload_1_authorizer_answers_policies_that_are_cached_and_evaluated_per_route(run_app):
    # GIVEN the ReportsApi whose authorizer answers IAM policies (payload 1.0, cached 300 s)
    stack = run_app("http_authorizer_v1", event_sources=False)
    api = stack.api_url
    reader = {"Authorization": "Bearer reader"}

    # WHEN a reader lists (1.0 route), reads (2.0 route), then deletes; a banned caller reads
    listed = call(f"{api}/reports", headers=reader)
    read = call(f"{api}/reports/r1", headers=reader)
    deleted = call(f"{api}/reports/r1", "DELETE", headers=reader)
    banned = call(f"{api}/reports/r1", headers={"Authorization": "Bearer banned"})
    missing = call(f"{api}/reports")

    # THEN the 1.0 route's event carries the context and principalId in requestContext.authorizer
    assert listed[0] == 200, listed
    context = listed[2]["requestContext"]["authorizer"]
    assert context["principalId"] == "user-reader" and context["role"] == "reader"
    assert context["seenVersion"] == "1.0" and context["seenType"] == "REQUEST"
    assert context["seenIdentity"] == "Bearer reader" and context["seenResource"] == "/reports"
    assert listed[2]["version"] == "1.0" and listed[2]["requestContext"]["stage"] == "$default"
    # the 2.0 route gets the same cached answer's context under authorizer.lambda
    assert read[0] == 200 and read[2]["requestContext"]["authorizer"]["lambda"]["calls"] == 1
    # the cached policy allows GET only: DELETE is 403; an explicit deny is 403; no token 401
    assert deleted[0] == 403 and deleted[2] == {"message": "Forbidden"}
    assert banned[0] == 403 and missing[0] == 401
    assert authorizer_runs(stack, "PolicyAuth") == 2  # reader once (cached), banned once
