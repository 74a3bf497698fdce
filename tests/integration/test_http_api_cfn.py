"""An HTTP API of plain ``AWS::ApiGatewayV2`` resources (tests/apps/cfn_http_api) over real HTTP:
the named stage, route selection, payload 1.0 and 2.0, a Lambda authorizer answering IAM
policies, a JWT authorizer the local token stands in for, and CORS."""

from __future__ import annotations

import pytest

from tests.integration.test_api_auth import authorizer_runs, call

pytestmark = pytest.mark.integration


def test_plain_v2_routes_are_selected_by_specificity_under_the_named_stage(run_app):
    # GIVEN the app's API, deployed on the stage "v2" only
    stack = run_app("cfn_http_api", event_sources=False)
    api = f"{stack.api_url}/v2"

    # WHEN paths that several routes match are called
    literal = call(f"{api}/items/special")
    variable = call(f"{api}/items/i-7?x=1")
    greedy = call(f"{api}/items/i-7/parts/9", "DELETE")
    default = call(f"{api}/elsewhere", "PUT")
    no_stage = call(f"{stack.api_url}/items/i-7")

    # THEN the literal beats the variable, the variable the greedy ANY, and $default takes the rest
    assert literal[0] == 200 and literal[2]["version"] == "1.0"
    assert literal[2]["resource"] == "/items/special" and literal[2]["path"] == "/v2/items/special"
    assert literal[2]["stageVariables"] == {"table": "items-v2"}
    assert variable[0] == 200 and variable[2]["routeKey"] == "GET /items/{id}"
    assert variable[2]["pathParameters"] == {"id": "i-7"}
    assert variable[2]["rawPath"] == "/v2/items/i-7"
    assert variable[2]["requestContext"]["stage"] == "v2"
    assert variable[2]["stageVariables"] == {"table": "items-v2"}
    assert greedy[2]["routeKey"] == "ANY /items/{proxy+}"
    assert greedy[2]["pathParameters"] == {"proxy": "i-7/parts/9"}
    assert default[2]["routeKey"] == "$default"
    # and a path outside every stage of the API is no request of it
    assert no_stage[0] == 404
    # and every AWS::ApiGatewayV2 resource counts as emulated at start-up
    assert not [line for line in stack.skipped if "ApiGatewayV2" in line]


def test_a_plain_v2_lambda_authorizer_answers_with_a_policy_for_the_route(run_app):
    # GIVEN POST /items behind the KeyAuth REQUEST authorizer (payload 2.0, IAM answers, no cache)
    stack = run_app("cfn_http_api", event_sources=False)
    url = f"{stack.api_url}/v2/items"

    # WHEN it is called without the key, with a wrong key, and with the right key twice
    missing = call(url, "POST", b"{}")
    wrong = call(url, "POST", b"{}", {"X-Key": "guess"})
    allowed = call(url, "POST", b"{}", {"X-Key": "open-sesame"})
    again = call(url, "POST", b"{}", {"X-Key": "open-sesame"})

    # THEN no key is 401 before the function runs; a denying policy is 403; an allowing one passes
    # the context on in requestContext.authorizer.lambda; without a cache the authorizer ran 3 times
    assert missing[0] == 401 and missing[2] == {"message": "Unauthorized"}
    assert wrong[0] == 403 and wrong[2] == {"message": "Forbidden"}
    assert allowed[0] == 200 and again[0] == 200
    seen = allowed[2]["requestContext"]["authorizer"]["lambda"]
    assert seen["keyOwner"] == "fixture"
    assert seen["seenRouteArn"].endswith("/v2/POST/items")
    assert authorizer_runs(stack, "KeyAuth") == 3


def test_a_jwt_route_takes_the_local_token_and_cors_is_answered_by_the_gateway(run_app):
    # GIVEN GET /admin behind a JWT authorizer, and CORS allowing any origin
    stack = run_app("cfn_http_api", event_sources=False, api_token="v2-token")
    api = f"{stack.api_url}/v2"

    # WHEN the JWT route is called without and with the local token, and a preflight is sent
    missing = call(f"{api}/admin")
    allowed = call(f"{api}/admin", headers={"Authorization": "Bearer v2-token"})
    preflight = call(
        f"{api}/items",
        "OPTIONS",
        headers={"Origin": "https://site.example", "Access-Control-Request-Method": "POST"},
    )
    simple = call(f"{api}/items/i-1", headers={"Origin": "https://site.example"})

    # THEN the local token stands in for the JWT, as the start-up lines say
    assert missing[0] == 401 and allowed[0] == 200
    assert allowed[2]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    assert any("JWT authorizer Jwt cannot be checked offline" in line for line in stack.skipped)
    # and the preflight is answered without the authorizer, with the configured headers
    assert preflight[0] == 204
    assert preflight[1]["Access-Control-Allow-Origin"] == "*"
    assert preflight[1]["Access-Control-Allow-Methods"] == "GET,POST,DELETE"
    assert preflight[1]["Access-Control-Allow-Headers"] == "x-key"
    assert preflight[1]["Access-Control-Max-Age"] == "60"
    assert authorizer_runs(stack, "KeyAuth") == 0
    assert simple[0] == 200 and simple[1]["Access-Control-Allow-Origin"] == "*"
