"""The HTTP APIs CloudFormation deploys: every ``AWS::ApiGatewayV2::Api`` with ``ProtocolType: HTTP``.

An HTTP API is read from what is deployed, never from SAM's ``HttpApi`` events:

- its ``Body`` (the OpenAPI 3 document SAM generates from ``HttpApi`` events, or the user's own
  ``DefinitionBody``): each path's operations (``get``, ``post``, ..., ``x-amazon-apigateway-any-method``
  for ``ANY``, the path ``$default`` for the catch-all route) with their
  ``x-amazon-apigateway-integration`` (``type: aws_proxy``, ``uri``, ``payloadFormatVersion``) and
  ``security`` (an operation's own, else the document's), the authorizers of
  ``components.securitySchemes`` (``x-amazon-apigateway-authorizer``: ``type`` request or jwt,
  ``authorizerUri``, ``authorizerPayloadFormatVersion``, ``enableSimpleResponses``,
  ``identitySource``, ``authorizerResultTtlInSeconds``; ``x-amazon-apigateway-authtype: awsSigv4``
  is IAM) and ``x-amazon-apigateway-cors``;
- or quick create (``Target``, optional ``RouteKey``: one route, payload 2.0, a ``$default`` stage);
- or plain ``AWS::ApiGatewayV2::Route`` (``RouteKey``, ``Target: integrations/<id>``,
  ``AuthorizationType``, ``AuthorizerId``) + ``AWS::ApiGatewayV2::Integration`` (``AWS_PROXY``,
  ``IntegrationUri``, ``PayloadFormatVersion``) + ``AWS::ApiGatewayV2::Authorizer``, with the API's
  ``CorsConfiguration``;

and its ``AWS::ApiGatewayV2::Stage`` resources (``StageName``: ``$default`` serves paths without a
prefix, a named stage under ``/<name>``; ``StageVariables``). What AWS would refuse (a route whose
integration names no function of the template, an integration without ``PayloadFormatVersion``, a
route naming an authorizer the API does not define) is one ``refused`` line; what is not emulated
(HTTP integrations, WebSocket APIs, mutual TLS, a Body in S3) one ``skipped`` line. A route to an
AWS service (``integrationSubtype``: ``SQS-SendMessage``, ``EventBridge-PutEvents``, ...; "Working
with AWS service integrations for HTTP APIs",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-aws-services.html)
is served up to its integration, so that its authorizer runs as on AWS, then answers 500: the
service call itself is not emulated (one ``skipped`` line).

Sources: "Working with routes for HTTP APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html),
"OpenAPI extensions" (.../api-gateway-swagger-extensions.html: x-amazon-apigateway-integration,
-authorizer, -cors, -any-method), the CloudFormation reference of ``AWS::ApiGatewayV2::Api``,
``Route``, ``Integration``, ``Authorizer`` and ``Stage``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigatewayv2-api.html).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventflow_local.apigw.http_cors import CorsConfig
from eventflow_local.apigw.httpapi import DEFAULT_ROUTE, HttpAuthorizerSpec, HttpRoute

API, ROUTE, INTEGRATION, AUTHORIZER, STAGE = (
    f"AWS::ApiGatewayV2::{name}" for name in ("Api", "Route", "Integration", "Authorizer", "Stage")
)
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ANY_METHOD = "x-amazon-apigateway-any-method"


class Model(Protocol):
    """What is read of the template (``SamTemplate``: its CloudFormation document)."""

    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]: ...
    def properties(self, logical_id: str) -> dict[str, Any]: ...
    def ref(self, name: str) -> Any: ...
    def get_att(self, logical_id: str, attr: str) -> Any: ...


@dataclass(frozen=True)
class HttpStage:
    name: str  # "$default" or a name that prefixes the path
    variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return "" if self.name == DEFAULT_ROUTE else f"/{self.name}"


@dataclass
class HttpApiDef:
    """One deployed HTTP API."""

    api: str
    routes: list[HttpRoute] = field(default_factory=list)
    authorizers: dict[str, HttpAuthorizerSpec] = field(default_factory=dict)
    stages: list[HttpStage] = field(default_factory=list)
    cors: CorsConfig | None = None


@dataclass
class HttpApiPlan:
    apis: list[HttpApiDef] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def routes(self) -> list[HttpRoute]:
        return [route for api in self.apis for route in api.routes]


# ----------------------------------------------------------------------------- functions
class Functions:
    """The template's function a Lambda ARN or integration URI names."""

    def __init__(self, model: Model) -> None:
        self.names: dict[str, str] = {}
        for rtype in FUNCTION_TYPES:
            for lid in model.resources_of(rtype):
                for alias in (lid, f"{lid}.Arn", model.ref(lid), model.get_att(lid, "Arn")):
                    self.names[str(alias)] = lid

    def of(self, uri: Any) -> str | None:
        text = str(uri or "")
        found = re.search(r"functions/(.+)/invocations$", text)
        target = found.group(1) if found else text
        if target in self.names:
            return self.names[target]
        name = re.search(r":function:([^:/]+)", target)
        return self.names.get(name.group(1)) if name else None


def _text(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _sources(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(s.strip() for s in _text(value).split(",") if s.strip())


# ----------------------------------------------------------------------------- reading
class _Reader:
    def __init__(self, model: Model, plan: HttpApiPlan) -> None:
        self.model = model
        self.plan = plan
        self.functions = Functions(model)

    def authorizer(self, api: str, name: str, props: Mapping[str, Any]) -> HttpAuthorizerSpec:
        kind = _text(props.get("type") or props.get("AuthorizerType")).upper()
        uri = props.get("authorizerUri", props.get("AuthorizerUri"))
        function = self.functions.of(uri) if kind == "REQUEST" else None
        if kind == "REQUEST" and function is None:
            self.plan.skipped.append(
                f"{api}: authorizer {name}: {uri} is no function of this template and cannot run "
                "locally: the local token (LOCAL_API_TOKEN) stands in"
            )
        ttl = props.get("authorizerResultTtlInSeconds", props.get("AuthorizerResultTtlInSeconds"))
        return HttpAuthorizerSpec(
            api=api,
            name=name,
            kind=kind,
            function=function,
            payload_version=_text(
                props.get(
                    "authorizerPayloadFormatVersion", props.get("AuthorizerPayloadFormatVersion")
                ),
                "2.0",
            ),
            simple_responses=_flag(
                props.get("enableSimpleResponses", props.get("EnableSimpleResponses"))
            ),
            identity_sources=_sources(props.get("identitySource", props.get("IdentitySource"))),
            ttl=int(ttl or 0),
        )

    def route(
        self,
        api: str,
        route_key: str,
        integration: Mapping[str, Any],
        authorization: str,
        authorizer: HttpAuthorizerSpec | None,
    ) -> HttpRoute | None:
        where = f"{api}: {route_key}"
        kind = _text(integration.get("type") or integration.get("IntegrationType")).upper()
        if kind != "AWS_PROXY":
            self.plan.skipped.append(f"{where}: {kind or 'no'} integration is not emulated")
            return None
        version = integration.get("payloadFormatVersion", integration.get("PayloadFormatVersion"))
        subtype = integration.get("integrationSubtype", integration.get("IntegrationSubtype"))
        uri = integration.get("uri", integration.get("IntegrationUri"))
        function = self.functions.of(uri)
        if subtype:  # an AWS service integration (SQS-SendMessage, EventBridge-PutEvents, ...)
            self.plan.skipped.append(
                f"{where}: AWS service integration {subtype} is not emulated: the route's "
                'authorization runs, then it answers 500 {"message":"Internal Server Error"}'
            )
            function = ""
        elif function is None:
            self.plan.refused.append(f"{where}: integration {uri} is no function of this template")
            return None
        if subtype:
            version = "1.0"  # the only version AWS service integrations take
        elif _text(version) not in ("1.0", "2.0"):
            self.plan.refused.append(
                f"{where}: PayloadFormatVersion must be 1.0 or 2.0 for a Lambda proxy integration"
            )
            return None
        method, _, path = route_key.partition(" ")
        return HttpRoute(
            method="ANY" if route_key == DEFAULT_ROUTE else method.upper(),
            path=None if route_key == DEFAULT_ROUTE else path,
            function=function,
            event=route_key,
            api=api,
            payload_version=_text(version),
            authorization=authorization,
            authorizer=authorizer,
        )

    # ------------------------------------------------------------------ OpenAPI body
    def from_body(self, api: HttpApiDef, body: Mapping[str, Any]) -> None:
        schemes = dict((body.get("components") or {}).get("securitySchemes") or {})
        iam: set[str] = set()
        for name, scheme in schemes.items():
            scheme = scheme or {}
            if str(scheme.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4":
                iam.add(name)
            elif isinstance(scheme.get("x-amazon-apigateway-authorizer"), Mapping):
                api.authorizers[name] = self.authorizer(
                    api.api, name, scheme["x-amazon-apigateway-authorizer"]
                )
        default_security = body.get("security")
        for path, item in (body.get("paths") or {}).items():
            for key, operation in (item or {}).items():
                if key != ANY_METHOD and key.lower() not in METHODS:
                    continue
                operation = operation or {}
                method = "ANY" if key == ANY_METHOD else key.upper()
                route_key = DEFAULT_ROUTE if path == DEFAULT_ROUTE else f"{method} {path}"
                security = operation.get("security", default_security) or []
                names = [n for requirement in security for n in (requirement or {})]
                name = next((n for n in names if n != "NONE"), None)
                authorization, authorizer = "NONE", None
                if name in iam:
                    authorization = "AWS_IAM"
                elif name is not None and name not in api.authorizers:
                    self.plan.refused.append(
                        f"{api.api}: {route_key}: security {name} is no securitySchemes entry"
                    )
                    continue
                elif name is not None:
                    authorizer = api.authorizers[name]
                    authorization = "JWT" if authorizer.kind == "JWT" else "CUSTOM"
                integration = operation.get("x-amazon-apigateway-integration") or {}
                found = self.route(api.api, route_key, integration, authorization, authorizer)
                if found is not None:
                    api.routes.append(found)
        if isinstance(body.get("x-amazon-apigateway-cors"), Mapping):
            api.cors = CorsConfig.from_definition(body["x-amazon-apigateway-cors"])

    # ------------------------------------------------------------------ plain resources
    def of_api(self, rtype: str, api: str) -> dict[str, dict[str, Any]]:
        """The resources of ``rtype`` whose ``ApiId`` is ``api``, by logical id, resolved."""
        names = {api, str(self.model.ref(api))}
        out = {}
        for lid in self.model.resources_of(rtype):
            props = self.model.properties(lid)
            if str(props.get("ApiId")) in names:
                out[lid] = props
        return out

    def from_resources(self, api: HttpApiDef) -> None:
        authorizers = self.of_api(AUTHORIZER, api.api)
        for lid, props in authorizers.items():
            api.authorizers[lid] = self.authorizer(api.api, _text(props.get("Name"), lid), props)
        integrations = self.of_api(INTEGRATION, api.api)
        ids = {str(self.model.ref(lid)): lid for lid in integrations} | {i: i for i in integrations}
        by_id = {str(self.model.ref(lid)): lid for lid in authorizers} | {a: a for a in authorizers}
        for lid, props in self.of_api(ROUTE, api.api).items():
            route_key = _text(props.get("RouteKey"))
            target = _text(props.get("Target"))
            integration = ids.get(target.removeprefix("integrations/"))
            if integration is None:
                self.plan.refused.append(
                    f"{lid}: Target: {target!r} names no integration of {api.api}"
                )
                continue
            authorization = _text(props.get("AuthorizationType"), "NONE").upper()
            authorizer = None
            if authorization in ("CUSTOM", "JWT"):
                authorizer_id = by_id.get(_text(props.get("AuthorizerId")))
                if authorizer_id is None:
                    self.plan.refused.append(
                        f"{lid}: AuthorizerId: {props.get('AuthorizerId')!r} is no authorizer of "
                        f"{api.api}"
                    )
                    continue
                authorizer = api.authorizers[authorizer_id]
            found = self.route(
                api.api, route_key, integrations[integration], authorization, authorizer
            )
            if found is not None:
                api.routes.append(found)

    def read(self, lid: str, props: Mapping[str, Any]) -> HttpApiDef | None:
        if _text(props.get("ProtocolType"), "HTTP").upper() != "HTTP" and "Body" not in props:
            self.plan.skipped.append(f"{lid}: {props.get('ProtocolType')} APIs are not emulated")
            return None
        api = HttpApiDef(lid)
        if isinstance(props.get("Body"), Mapping):
            self.from_body(api, props["Body"])
        elif props.get("BodyS3Location"):
            self.plan.skipped.append(f"{lid}: BodyS3Location: a definition in S3 is not read")
        elif props.get("Target"):  # quick create
            route_key = _text(props.get("RouteKey"), DEFAULT_ROUTE)
            integration = {
                "type": "AWS_PROXY",
                "uri": props["Target"],
                "payloadFormatVersion": "2.0",
            }
            found = self.route(lid, route_key, integration, "NONE", None)
            api.routes.extend([found] if found else [])
            api.stages.append(HttpStage(DEFAULT_ROUTE))
        if isinstance(props.get("CorsConfiguration"), Mapping):
            api.cors = CorsConfig.from_definition(props["CorsConfiguration"])
        self.from_resources(api)
        for stage_lid, stage in self.of_api(STAGE, lid).items():
            name = _text(stage.get("StageName"), stage_lid)
            variables = {str(k): str(v) for k, v in (stage.get("StageVariables") or {}).items()}
            api.stages.append(HttpStage(name, variables))
        if not api.stages:
            self.plan.skipped.append(
                f"{lid}: no AWS::ApiGatewayV2::Stage: its routes are not served"
            )
        for prop in ("DisableExecuteApiEndpoint", "FailOnWarnings"):
            if props.get(prop):
                self.plan.skipped.append(f"{lid}.{prop}: not emulated")
        return api


def read_http_apis(model: Model, running: set[str] | None = None) -> HttpApiPlan:
    """Every HTTP API of ``model`` with the routes of the ``running`` functions (all when None),
    and what is refused or not emulated about them."""
    plan = HttpApiPlan()
    reader = _Reader(model, plan)
    for lid in model.resources_of(API):
        api = reader.read(lid, model.properties(lid))
        if api is None:
            continue
        if running is not None:
            api.routes = [r for r in api.routes if not r.function or r.function in running]
            for spec in {r.authorizer for r in api.routes if r.authorizer}:
                if spec.function is not None and spec.function not in running:
                    plan.skipped.append(
                        f"{lid}: authorizer {spec.name}'s function {spec.function} is not started "
                        "here (its routes answer 500)"
                    )
        for route in api.routes:
            if route.authorization == "AWS_IAM" or (
                route.authorizer is not None and route.authorizer.function is None
            ):
                what = (
                    "AWS_IAM"
                    if route.authorizer is None
                    else (f"{route.authorizer.kind} authorizer {route.authorizer.name}")
                )
                plan.skipped.append(
                    f"{lid}: {route.route_key}: {what} cannot be checked offline; the local token "
                    "(LOCAL_API_TOKEN) stands in"
                )
        if api.routes and api.stages:
            plan.apis.append(api)
    return plan
