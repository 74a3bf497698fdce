"""``Type: HttpApi`` events over real HTTP, served from the ``AWS::ApiGatewayV2::Api`` SAM's
transform makes of them: payload format 2.0 (and 1.0), the $default stage and route, bare JSON
results."""

from __future__ import annotations

import pytest

from tests.integration.test_api_auth import call

pytestmark = pytest.mark.integration


def test_http_api_routes_get_the_format_2_event_and_the_default_route_takes_the_rest(run_app):
    # GIVEN an app with HttpApi events on the implicit HTTP API
    stack = run_app("http_api", event_sources=False)
    api = stack.api_url

    # WHEN a parameterised route, a bare-JSON route, a 1.0 route and an unrouted path are called
    item = call(f"{api}/items/i%201?a=1&a=2&b=x", headers={"Cookie": "c1=v1; c2=v2", "X-Tag": "t"})
    stats = call(f"{api}/stats")
    v1 = call(f"{api}/v1items", "POST", b'{"n": 1}', {"Content-Type": "application/json"})
    other = call(f"{api}/anything/else", "DELETE")

    # THEN the function got API Gateway's 2.0 event ($default stage, lower-case headers, joined
    # query values, cookies apart) and its cookies came back as Set-Cookie
    status, headers, event = item
    assert status == 200 and event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}" and event["pathParameters"] == {"id": "i 1"}
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["cookies"] == ["c1=v1", "c2=v2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-tag"] == "t"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert headers["Set-Cookie"] == "seen=1; Path=/"
    # a result without statusCode is a 200 JSON body
    assert stats[0] == 200 and stats[2] == {"count": 3, "route": "GET /stats"}
    # PayloadFormatVersion 1.0 sends the REST proxy event
    assert v1[0] == 200 and v1[2]["httpMethod"] == "POST" and v1[2]["body"] == '{"n": 1}'
    assert v1[2]["requestContext"]["stage"] == "$default"
    # the $default route takes what no other route matches
    assert other[0] == 200 and other[2]["routeKey"] == "$default"
    assert other[2]["rawPath"] == "/anything/else"
    # and the start-up summary names the HTTP API routes
    assert "GET /items/{id}" in stack.summary() and "$default" in stack.summary()
    assert not [line for line in stack.skipped if "HttpApi" in line]


def test_an_http_api_authorizer_is_named_and_the_local_token_stands_in(run_app):
    # GIVEN an HTTP API whose default authorizer is a JWT authorizer (not checkable offline)
    stack = run_app("http_api", event_sources=False, api_token="http-token")
    url = f"{stack.api_url}/secure"

    # WHEN its route is called without and with the local token
    missing = call(url)
    allowed = call(url, headers={"Authorization": "Bearer http-token"})

    # THEN the local token stands in, and the start-up lines said so
    assert missing[0] == 401 and allowed[0] == 200
    assert (
        "SecureApi: GET /secure: JWT authorizer Jwt cannot be checked offline; the local token "
        "(LOCAL_API_TOKEN) stands in" in stack.skipped
    )
