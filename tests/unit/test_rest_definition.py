"""Unit tests of the deployed REST API readers: an OpenAPI Body (2 and 3), request validation
with JSON Schema draft 4 models, usage plans (throttle and quota, with a fake clock) and gateway
responses, as API Gateway applies them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventflow_local.apigw.auth_plan import COGNITO, REQUEST
from eventflow_local.apigw.definition import GatewayResponse, path_pattern
from eventflow_local.apigw.gateway_responses import answer
from eventflow_local.apigw.openapi_body import function_of, read_body
from eventflow_local.apigw.usage_plans import ApiKey, UsagePlan, UsagePlans
from eventflow_local.apigw.validation import validate

FUNCTIONS = {"Fn": "my-fn", "Auth": "Auth"}
URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations"


def proxy(arn: str = "Fn.Arn") -> dict[str, Any]:
    return {"type": "aws_proxy", "httpMethod": "POST", "uri": URI.format(arn)}


def test_a_lambda_uri_names_a_template_function_by_logical_id_or_function_name():
    assert function_of(URI.format("Fn.Arn"), FUNCTIONS) == "Fn"
    assert function_of(URI.format("arn:aws:lambda:us-east-1:1:function:my-fn"), FUNCTIONS) == "Fn"
    assert function_of(URI.format("arn:aws:lambda:us-east-1:1:function:other"), FUNCTIONS) is None


def test_paths_match_like_api_gateway_with_the_trailing_slash_on_the_same_resource():
    assert path_pattern("/plantest").match("/plantest/")
    assert path_pattern("/items/{id}").match("/items/7").groupdict() == {"id": "7"}
    assert not path_pattern("/items/{id}").match("/items/7/x")
    assert path_pattern("/{proxy+}").match("/a/b/c").groupdict() == {"proxy": "a/b/c"}
    assert path_pattern("/").match("/") and not path_pattern("/").match("/x")


def test_an_openapi_2_body_gives_methods_authorizers_keys_validators_and_responses():
    # GIVEN a Body as SAM's transform writes it
    body = {
        "swagger": "2.0",
        "x-amazon-apigateway-request-validators": {"body": {"validateRequestBody": True}},
        "securityDefinitions": {
            "Req": {
                "type": "apiKey", "name": "Unused", "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "request", "authorizerUri": URI.format("Auth.Arn"),
                    "identitySource": "method.request.header.X-User, method.request.querystring.t",
                    "authorizerResultTtlInSeconds": 0,
                },
            },
            "Pool": {"type": "apiKey", "name": "Authorization", "in": "header",
                     "x-amazon-apigateway-authtype": "cognito_user_pools",
                     "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools"}},
            "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
        },
        "definitions": {"order": {"type": "object", "required": ["item"]}},
        "paths": {
            "/orders": {
                "post": {
                    "x-amazon-apigateway-integration": proxy(),
                    "x-amazon-apigateway-request-validator": "body",
                    "security": [{"Req": []}, {"api_key": []}],
                    "parameters": [{"in": "body", "name": "o", "schema": {"$ref": "#/definitions/order"}}],
                },
                "get": {"x-amazon-apigateway-integration": proxy(), "security": [{"Pool": []}]},
            },
            "/{proxy+}": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": {"type": "http_proxy", "uri": "https://x"}}},
        },
        "x-amazon-apigateway-gateway-responses": {
            "UNAUTHORIZED": {"statusCode": "401", "responseParameters": {"gatewayresponse.header.X-A": "'b'"}}
        },
    }  # fmt: skip
    skipped: list[str] = []

    # WHEN it is read
    ops, responses, source = read_body("Api", body, FUNCTIONS, skipped)

    # THEN each method has its integration, authorizer, key and validation
    by = {(o.method, o.path): o for o in ops}
    post = by[("POST", "/orders")]
    assert post.function == "Fn" and post.auth.api_key_required
    spec = post.auth.authorizer
    assert spec is not None and (spec.kind, spec.function, spec.ttl) == (REQUEST, "Auth", 0)
    assert (spec.headers, spec.query_strings) == (("X-User",), ("t",))
    assert post.validation.body and not post.validation.parameters
    get = by[("GET", "/orders")]
    assert get.auth.authorizer is not None and get.auth.authorizer.kind == COGNITO
    assert by[("ANY", "/{proxy+}")].integration.type == "http_proxy"
    assert responses["UNAUTHORIZED"] == GatewayResponse(401, (("X-A", "b"),), None)
    assert source == "HEADER" and skipped == []


def test_an_openapi_3_body_reads_request_bodies_and_components_schemas():
    body = {
        "openapi": "3.0.1",
        "x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": True, "validateRequestParameters": True}},
        "x-amazon-apigateway-request-validator": "all",
        "components": {"schemas": {"Note": {"type": "object", "required": ["text"]}}},
        "paths": {
            "/notes/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True}],
                "put": {
                    "parameters": [{"name": "v", "in": "header", "required": True}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}},
                    "x-amazon-apigateway-integration": proxy(),
                },
            }
        },
    }  # fmt: skip
    (op,), _, _ = read_body("Api", body, FUNCTIONS, [])
    assert op.validation.required == (("path", "id"), ("header", "v"))
    given: dict[str, Any] = {"path_parameters": {"id": "1"}, "query": {}}
    assert validate(op.validation, headers={}, body=b'{"text": "x"}', **given) == (
        "BAD_REQUEST_PARAMETERS",
        "Missing required request parameters: [v]",
    )
    assert validate(op.validation, headers={"V": "1"}, body=b"{}", **given) == (
        "BAD_REQUEST_BODY",
        "Invalid request body",
    )
    assert validate(op.validation, headers={"V": "1"}, body=b'{"text": "x"}', **given) is None
    # a content type without a model is not validated, as on AWS
    form = {"V": "1", "Content-Type": "text/plain"}
    assert validate(op.validation, headers=form, body=b"not json", **given) is None


def test_a_throttled_plan_refills_its_bucket_and_a_quota_resets_with_its_period():
    # GIVEN a key in a plan of 1 request/s with a burst of 2, and one in a plan of 2 a day
    now = [0.0]
    plans = UsagePlans(
        [ApiKey("K", "k" * 20, enabled=True), ApiKey("Q", "q" * 20, enabled=True)],
        [
            UsagePlan("Fast", {("Api", "prod")}, {"K"}, rate=1.0, burst=2),
            UsagePlan("Day", {("Api", "day")}, {"Q"}, quota=2),
        ],
        clock=lambda: now[0],
    )
    # WHEN the keys are used
    burst = [plans.check("Api", "prod", "k" * 20)[0] for _ in range(3)]
    now[0] = 1.0
    refilled = plans.check("Api", "prod", "k" * 20)[0]
    daily = [plans.check("Api", "day", "q" * 20)[0] for _ in range(3)]
    now[0] = 1.0 + 86400
    next_day = plans.check("Api", "day", "q" * 20)[0]
    # THEN API Gateway's answers: the burst, then Too Many Requests until a token is back; the
    # quota, then Limit Exceeded until the period ends; a key of another stage is Forbidden
    assert burst == [None, None, "Too Many Requests"] and refilled is None
    assert daily == [None, None, "Limit Exceeded"] and next_day is None
    assert plans.check("Api", "prod", "q" * 20)[0] == "Forbidden"
    assert plans.check("Api", "prod", None)[0] == "Forbidden"


def test_gateway_responses_default_to_a_lower_case_message_and_take_customisations():
    status, headers, body = answer("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    custom = {
        "DEFAULT_4XX": GatewayResponse(None, (("Access-Control-Allow-Origin", "*"),), None),
        "THROTTLED": GatewayResponse(503, (), '{"why": $context.error.messageString}'),
    }
    status, headers, body = answer("UNAUTHORIZED", "Unauthorized", custom)
    assert (status, headers["Access-Control-Allow-Origin"]) == (401, ["*"])
    status, _, body = answer("THROTTLED", "Too Many Requests", custom)
    assert (status, json.loads(body)) == (503, {"why": "Too Many Requests"})


@pytest.mark.parametrize("schema", [{"type": "nonsense"}])
def test_a_model_that_is_no_draft_4_schema_is_named_not_applied(schema):
    from eventflow_local.apigw.definition import Validation
    from eventflow_local.apigw.validation import invalid_schemas

    validation = Validation(body=True, models=(("application/json", schema),))
    assert invalid_schemas(validation) == ["application/json"]
    kwargs: dict[str, Any] = {"path_parameters": {}, "query": {}, "headers": {}}
    assert validate(validation, body=b"{}", **kwargs) is None
