"""HTTP API routes: route selection (apigw/httpapi.py) and the definition CloudFormation deploys
(apigw/http_definition.py), from an OpenAPI ``Body`` and from plain ``AWS::ApiGatewayV2`` resources."""

from __future__ import annotations

from pathlib import Path

import yaml

from eventflow_local.apigw.http_definition import read_http_apis
from eventflow_local.apigw.httpapi import HttpRoute, select_route
from eventflow_local.template.sam import SamTemplate

APPS = Path(__file__).resolve().parents[1] / "apps"


def route(key: str) -> HttpRoute:
    method, _, path = key.partition(" ")
    return HttpRoute(method if path else "ANY", path or None, "Fn", key, "Api")


ROUTES = [
    route(k)
    for k in (
        "$default",
        "ANY /{proxy+}",
        "GET /pets/{proxy+}",
        "GET /pets/dog/{id}",
        "GET /pets/dog/1",
        "ANY /pets/dog/{id}",
        "POST /pets/dog/{id}",
    )
]


def picked(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    found = select_route(ROUTES, method, path)
    return None if found is None else (found[0].event, found[1])


def test_the_most_specific_route_wins_and_default_takes_the_rest():
    # GIVEN routes from a literal to a greedy variable and $default
    # WHEN requests are routed THEN a full match beats a variable, a variable a greedy variable,
    # the request's own method beats ANY, and $default takes what nothing else matches
    assert picked("GET", "/pets/dog/1") == ("GET /pets/dog/1", {})
    assert picked("GET", "/pets/dog/2") == ("GET /pets/dog/{id}", {"id": "2"})
    assert picked("POST", "/pets/dog/2") == ("POST /pets/dog/{id}", {"id": "2"})
    assert picked("DELETE", "/pets/dog/2") == ("ANY /pets/dog/{id}", {"id": "2"})
    assert picked("GET", "/pets/cat/1") == ("GET /pets/{proxy+}", {"proxy": "cat/1"})
    assert picked("PUT", "/pets/cat/1") == ("ANY /{proxy+}", {"proxy": "pets/cat/1"})
    assert picked("GET", "/") == ("$default", {})


def test_path_variables_are_decoded_and_a_greedy_variable_needs_a_segment():
    routes = [route("GET /files/{name}"), route("GET /files/{path+}")]
    assert select_route(routes, "GET", "/files/a%20b")[1] == {"name": "a b"}  # type: ignore[index]
    assert select_route(routes, "GET", "/files/a/b%2Fc")[1] == {"path": "a/b/c"}  # type: ignore[index]
    assert select_route(routes, "GET", "/files") is None


def test_plain_v2_resources_become_routes_authorizers_stage_and_cors():
    # GIVEN the cfn_http_api app (AWS::ApiGatewayV2::Api/Route/Integration/Authorizer/Stage)
    plan = read_http_apis(SamTemplate(APPS / "cfn_http_api" / "template.yaml"))

    # THEN every route names its function, payload version and authorization, on the stage v2
    (api,) = plan.apis
    keys = {r.route_key: r for r in api.routes}
    assert set(keys) == {
        "GET /items/{id}",
        "GET /items/special",
        "POST /items",
        "GET /admin",
        "ANY /items/{proxy+}",
        "$default",
    }
    assert keys["GET /items/special"].payload_version == "1.0"
    create = keys["POST /items"]
    assert create.function == "ItemsFunction" and create.authorization == "CUSTOM"
    assert create.authorizer is not None and create.authorizer.function == "KeyAuthFunction"
    assert create.authorizer.identity_sources == ("$request.header.X-Key",)
    assert create.authorizer.payload_version == "2.0" and create.authorizer.ttl == 0
    assert keys["GET /admin"].protected and not create.protected
    assert [(s.name, dict(s.variables)) for s in api.stages] == [("v2", {"table": "items-v2"})]
    assert api.cors is not None and api.cors.allow_origins == ("*",)
    assert plan.refused == []


def write(tmp_path: Path, doc: dict) -> SamTemplate:
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(doc))
    (tmp_path / "src").mkdir(exist_ok=True)
    return SamTemplate(path)


FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {"Code": "src/", "Handler": "a.h", "Runtime": "python3.13", "Role": "r"},
}


def integration(version: str | None = "2.0") -> dict:
    found = {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": {
            "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            "${Fn.Arn}/invocations"
        },
    }
    return found if version is None else {**found, "payloadFormatVersion": version}


def test_an_openapi_body_gives_routes_with_security_authorizers_and_cors(tmp_path):
    # GIVEN an HTTP API whose Body is OpenAPI 3: a document-wide security, one open operation, an
    # ANY method, $default, an IAM scheme, a Lambda authorizer, a path whose version is missing
    body = {
        "openapi": "3.0.1",
        "security": [{"Lam": []}],
        "paths": {
            "/a": {"get": {"x-amazon-apigateway-integration": integration()}},
            "/b": {
                "x-amazon-apigateway-any-method": {
                    "x-amazon-apigateway-integration": integration("1.0"),
                    "security": [{"NONE": []}],
                },
                "parameters": [],
            },
            "/iam": {
                "get": {"x-amazon-apigateway-integration": integration(), "security": [{"Sig": []}]}
            },
            "/broken": {"get": {"x-amazon-apigateway-integration": integration(None)}},
            "$default": {
                "x-amazon-apigateway-any-method": {
                    "x-amazon-apigateway-integration": integration(),
                    "security": [{"NONE": []}],
                }
            },
        },
        "components": {
            "securitySchemes": {
                "Lam": {
                    "type": "apiKey",
                    "x-amazon-apigateway-authorizer": {
                        "type": "request",
                        "authorizerUri": integration()["uri"],
                        "authorizerPayloadFormatVersion": "1.0",
                        "identitySource": "$request.header.A, $request.querystring.b",
                        "authorizerResultTtlInSeconds": 30,
                    },
                },
                "Sig": {"type": "apiKey", "x-amazon-apigateway-authtype": "awsSigv4"},
            }
        },
        "x-amazon-apigateway-cors": {"allowOrigins": ["*"], "maxAge": 5},
    }
    template = write(
        tmp_path,
        {
            "Resources": {
                "Fn": FUNCTION,
                "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": body}},
                "Stage": {
                    "Type": "AWS::ApiGatewayV2::Stage",
                    "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "$default"},
                },
            }
        },
    )

    # WHEN the deployed definition is read
    plan = read_http_apis(template)

    # THEN each operation is a route with its authorization; the one AWS would refuse is named
    (api,) = plan.apis
    keys = {r.route_key: r for r in api.routes}
    assert set(keys) == {"GET /a", "ANY /b", "GET /iam", "$default"}
    lam = keys["GET /a"].authorizer
    assert lam is not None and lam.function == "Fn" and lam.payload_version == "1.0"
    assert lam.identity_sources == ("$request.header.A", "$request.querystring.b")
    assert lam.ttl == 30
    assert keys["ANY /b"].authorizer is None and keys["ANY /b"].payload_version == "1.0"
    assert keys["GET /iam"].authorization == "AWS_IAM" and keys["GET /iam"].protected
    assert keys["$default"].path is None
    assert api.cors is not None and api.cors.max_age == 5
    assert [s.name for s in api.stages] == ["$default"]
    assert plan.refused == [
        "Api: GET /broken: PayloadFormatVersion must be 1.0 or 2.0 for a Lambda proxy integration"
    ]
    assert any("GET /iam: AWS_IAM cannot be checked offline" in line for line in plan.skipped)


def test_quick_create_and_routes_of_functions_not_running(tmp_path):
    # GIVEN a quick-create API (Target) and a plain route to another function
    template = write(
        tmp_path,
        {
            "Resources": {
                "Fn": FUNCTION,
                "Other": FUNCTION,
                "Quick": {
                    "Type": "AWS::ApiGatewayV2::Api",
                    "Properties": {"ProtocolType": "HTTP", "Target": {"Fn::GetAtt": ["Fn", "Arn"]}},
                },
                "OtherIntegration": {
                    "Type": "AWS::ApiGatewayV2::Integration",
                    "Properties": {
                        "ApiId": {"Ref": "Quick"},
                        "IntegrationType": "AWS_PROXY",
                        "IntegrationUri": {"Fn::GetAtt": ["Other", "Arn"]},
                        "PayloadFormatVersion": "2.0",
                    },
                },
                "OtherRoute": {
                    "Type": "AWS::ApiGatewayV2::Route",
                    "Properties": {
                        "ApiId": {"Ref": "Quick"},
                        "RouteKey": "GET /other",
                        "Target": {"Fn::Sub": "integrations/${OtherIntegration}"},
                    },
                },
                "Missing": {
                    "Type": "AWS::ApiGatewayV2::Route",
                    "Properties": {
                        "ApiId": {"Ref": "Quick"},
                        "RouteKey": "GET /missing",
                        "Target": "integrations/nothing",
                    },
                },
            }
        },
    )

    # WHEN it is read with only Fn running
    plan = read_http_apis(template, running={"Fn"})

    # THEN quick create is a $default route on a $default stage; Other's route does not start,
    # and a route whose target names no integration is refused
    (api,) = plan.apis
    assert [(r.route_key, r.function, r.payload_version) for r in api.routes] == [
        ("$default", "Fn", "2.0")
    ]
    assert [s.name for s in api.stages] == ["$default"]
    assert plan.refused == ["Missing: Target: 'integrations/nothing' names no integration of Quick"]


def test_the_stage_is_chosen_first_and_a_preflight_is_the_gateways_own():
    # GIVEN an API with GET /a on the stage "live" and on $default, with CORS
    from eventflow_local.apigw.http_cors import CorsConfig
    from eventflow_local.apigw.http_definition import HttpApiDef, HttpStage
    from eventflow_local.apigw.http_gateway import HttpApis

    api = HttpApiDef(
        "Api",
        routes=[route("GET /a")],
        stages=[HttpStage("live", {"v": "1"}), HttpStage("$default")],
        cors=CorsConfig(allow_origins=("*",)),
    )
    apis = HttpApis([api], {})
    preflight = {"Origin": "https://x", "Access-Control-Request-Method": "GET"}

    # WHEN requests are matched
    staged = apis.match("GET", "/live/a", {}, default=False)
    unstaged = apis.match("GET", "/a", {}, default=False)
    options = apis.match("OPTIONS", "/live/a", preflight, default=False)
    plain_options = apis.match("OPTIONS", "/live/a", {}, default=False)

    # THEN a path naming the stage goes to it, another to $default; a preflight on a path of a
    # GET route is answered by the gateway (no route), a plain OPTIONS matches no route
    assert staged is not None and staged.stage.name == "live" and staged.path == "/a"
    assert unstaged is not None and unstaged.stage.name == "$default"
    assert options is not None and options.route is None
    assert plain_options is None
