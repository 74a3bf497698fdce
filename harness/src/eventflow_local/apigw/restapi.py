"""Every REST API CloudFormation deploys for a template, read from the deployed resources.

An ``AWS::ApiGateway::RestApi`` is served from its ``Body`` (``eventflow_local.apigw.openapi_body``)
or, without one, from plain CloudFormation resources
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-method.html):
``AWS::ApiGateway::Resource`` chains (``ParentId`` / ``PathPart`` from the API's
``RootResourceId``), ``AWS::ApiGateway::Method`` (``HttpMethod``, ``AuthorizationType``,
``AuthorizerId``, ``ApiKeyRequired``, ``Integration``, ``RequestValidatorId``, ``RequestModels``,
``RequestParameters``), ``AWS::ApiGateway::Authorizer``, ``AWS::ApiGateway::RequestValidator``,
``AWS::ApiGateway::Model``. Either way its ``AWS::ApiGateway::GatewayResponse`` resources apply,
and its stages are its ``AWS::ApiGateway::Stage`` resources (``StageName``, ``Variables``: the
event's ``stageVariables``), or the ``StageName`` of a Deployment when no Stage names the API.

SAM's transform writes ``Api`` events as such a RestApi, so this is the one way a REST API is
read: SAM's ``Auth``, ``Models``, ``RequestModel``, ``GatewayResponses`` arrive in the ``Body``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from eventflow_local.apigw.auth_plan import AWS_IAM, COGNITO, AuthorizerSpec, RouteAuth
from eventflow_local.apigw.definition import (
    ANY,
    Integration,
    Operation,
    RestApi,
    Validation,
)
from eventflow_local.apigw.openapi_body import (
    gateway_response,
    integration_of,
    lambda_authorizer,
    read_body,
)

REST_API = "AWS::ApiGateway::RestApi"


class Deployed(Protocol):
    """The deployed template (``template.sam.SamTemplate``): resources by type, resolved
    properties."""

    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]: ...
    def properties(self, logical_id: str) -> dict[str, Any]: ...


def target(raw: Any) -> str | None:
    """The logical id a ``Ref`` / ``Fn::GetAtt`` names (None for a literal)."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((key, arg),) = raw.items()
        if key == "Ref":
            return str(arg)
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
            return str(parts[0])
    return None


def _raw(deployed: Deployed, rtype: str) -> dict[str, dict[str, Any]]:
    return {
        lid: dict(res.get("Properties") or {}) for lid, res in deployed.resources_of(rtype).items()
    }


def read_rest_apis(deployed: Deployed, functions: Mapping[str, str]) -> list[RestApi]:
    """Every RestApi of ``deployed`` (``functions``: logical id -> function name)."""
    apis = []
    for lid in deployed.resources_of(REST_API):
        props = deployed.properties(lid)
        api = RestApi(lid)
        body = props.get("Body")
        if isinstance(body, Mapping):
            api.operations, api.responses, api.api_key_source = read_body(
                lid, body, functions, api.skipped
            )
        else:
            if props.get("BodyS3Location"):
                api.skipped.append(
                    f"{lid}: BodyS3Location: a definition in S3 cannot be read offline"
                )
            api.operations = _cfn_methods(deployed, lid, functions, api.skipped)
        api.api_key_source = str(props.get("ApiKeySourceType") or api.api_key_source).upper()
        for glid, raw in _raw(deployed, "AWS::ApiGateway::GatewayResponse").items():
            if target(raw.get("RestApiId")) == lid:
                spec = deployed.properties(glid)
                api.responses[str(spec.get("ResponseType"))] = gateway_response(
                    spec.get("StatusCode"),
                    spec.get("ResponseParameters") or {},
                    spec.get("ResponseTemplates") or {},
                )
        api.stages = _stages(deployed, lid)
        apis.append(api)
    return apis


def _stages(deployed: Deployed, api: str) -> dict[str, dict[str, str]]:
    stages: dict[str, dict[str, str]] = {}
    for lid, raw in _raw(deployed, "AWS::ApiGateway::Stage").items():
        if target(raw.get("RestApiId")) == api:
            props = deployed.properties(lid)
            variables = props.get("Variables") or {}
            stages[str(props.get("StageName"))] = {str(k): str(v) for k, v in variables.items()}
    if not stages:
        for lid, raw in _raw(deployed, "AWS::ApiGateway::Deployment").items():
            if target(raw.get("RestApiId")) == api and raw.get("StageName"):
                props = deployed.properties(lid)
                variables = (props.get("StageDescription") or {}).get("Variables") or {}
                stages[str(props["StageName"])] = {str(k): str(v) for k, v in variables.items()}
    return stages


def stage_names(deployed: Deployed) -> dict[str, str]:
    """Stage logical id -> StageName (what ``Ref`` of a Stage is)."""
    return {
        lid: str(deployed.properties(lid).get("StageName"))
        for lid in deployed.resources_of("AWS::ApiGateway::Stage")
    }


# ----------------------------------------------------------------------- plain CloudFormation
def _paths(deployed: Deployed, api: str) -> dict[str, str]:
    """Resource logical id -> its path; ``""`` stands for the API's root resource."""
    resources = {
        lid: raw
        for lid, raw in _raw(deployed, "AWS::ApiGateway::Resource").items()
        if target(raw.get("RestApiId")) == api
    }
    paths: dict[str, str] = {"": "/"}

    def path_of(lid: str, seen: tuple[str, ...] = ()) -> str | None:
        if lid in paths:
            return paths[lid]
        raw = resources.get(lid)
        if raw is None or lid in seen:
            return None
        parent = raw.get("ParentId")
        parent_id = target(parent)
        is_root = isinstance(parent, Mapping) and "Fn::GetAtt" in parent
        base = "/" if is_root else path_of(parent_id or "", (*seen, lid))
        if base is None:
            return None
        part = str(deployed.properties(lid).get("PathPart"))
        paths[lid] = base.rstrip("/") + "/" + part
        return paths[lid]

    for lid in resources:
        path_of(lid)
    return paths


def _cfn_methods(
    deployed: Deployed, api: str, functions: Mapping[str, str], skipped: list[str]
) -> list[Operation]:
    paths = _paths(deployed, api)
    models = {
        str(deployed.properties(lid).get("Name") or lid): (
            lid,
            deployed.properties(lid).get("Schema"),
        )
        for lid, raw in _raw(deployed, "AWS::ApiGateway::Model").items()
        if target(raw.get("RestApiId")) == api
    }
    by_lid = {lid: schema for lid, schema in models.values()}
    definitions = {name: schema for name, (_, schema) in models.items()}
    operations = []
    for lid, raw in _raw(deployed, "AWS::ApiGateway::Method").items():
        if target(raw.get("RestApiId")) != api:
            continue
        resource = raw.get("ResourceId")
        is_root = isinstance(resource, Mapping) and "Fn::GetAtt" in resource
        path = "/" if is_root else paths.get(target(resource) or "")
        if path is None:
            skipped.append(f"{lid}: ResourceId: not a resource of {api}")
            continue
        props = deployed.properties(lid)
        method = str(props.get("HttpMethod") or "").upper()
        integration_props = props.get("Integration") or {}
        kind = str(integration_props.get("Type") or "").lower()
        if kind == "mock":
            answers = integration_props.get("IntegrationResponses") or [{}]
            first = answers[0] or {}
            integration = integration_of(
                {
                    "type": "mock",
                    "responses": {
                        "default": {
                            "statusCode": first.get("StatusCode"),
                            "responseParameters": first.get("ResponseParameters") or {},
                            "responseTemplates": first.get("ResponseTemplates") or {},
                        }
                    },
                },
                functions,
            )
        else:
            integration = integration_of(
                {"type": kind, "uri": integration_props.get("Uri")}, functions
            )
        if not kind:
            integration = Integration("none")
        auth = RouteAuth(
            api,
            _cfn_authorizer(deployed, api, props, raw, functions),
            bool(props.get("ApiKeyRequired")),
        )
        validator_id = target(raw.get("RequestValidatorId"))
        validator = deployed.properties(validator_id) if validator_id else {}
        content = []
        for ctype, model in (raw.get("RequestModels") or {}).items():
            ref = target(model)
            schema = by_lid.get(ref) if ref else definitions.get(str(model))
            if isinstance(schema, Mapping):
                content.append((str(ctype), _with_definitions(schema, definitions)))
        required = tuple(
            (name.split(".")[2], name.split(".", 3)[3])
            for name, needed in (props.get("RequestParameters") or {}).items()
            if str(needed).lower() == "true" and name.count(".") >= 3
        )
        validation = Validation(
            body=str(validator.get("ValidateRequestBody")).lower() == "true",
            parameters=str(validator.get("ValidateRequestParameters")).lower() == "true",
            models=tuple(content),
            required=required,
        )
        operations.append(
            Operation(api, ANY if method == "ANY" else method, path, integration, auth, validation)
        )
    return operations


def _with_definitions(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """A model's schema whose references to the API's other models
    (``https://apigateway.amazonaws.com/restapis/<id>/models/<name>``) resolve locally."""
    import json
    import re

    text = re.sub(
        r"https://apigateway\.amazonaws\.com/restapis/[^/\"]+/models/",
        "#/definitions/",
        json.dumps(dict(schema)),
    )
    defs = re.sub(
        r"https://apigateway\.amazonaws\.com/restapis/[^/\"]+/models/",
        "#/definitions/",
        json.dumps(dict(definitions)),
    )
    return {**json.loads(text), "definitions": json.loads(defs)}


def _cfn_authorizer(
    deployed: Deployed,
    api: str,
    props: Mapping[str, Any],
    raw: Mapping[str, Any],
    functions: Mapping[str, str],
) -> AuthorizerSpec | None:
    kind = str(props.get("AuthorizationType") or "NONE").upper()
    if kind == AWS_IAM:
        return AuthorizerSpec(AWS_IAM, AWS_IAM, api)
    authorizer = target(raw.get("AuthorizerId"))
    if kind not in ("CUSTOM", COGNITO) or authorizer is None:
        return None
    spec = deployed.properties(authorizer)
    name = str(spec.get("Name") or authorizer)
    source = str(spec.get("IdentitySource") or "method.request.header.Authorization")
    if str(spec.get("Type")).upper() == COGNITO or kind == COGNITO:
        return AuthorizerSpec(name, COGNITO, api, header=source.rsplit(".", 1)[-1])
    return lambda_authorizer(
        api,
        name,
        kind=str(spec.get("Type") or "TOKEN").upper(),
        uri=spec.get("AuthorizerUri"),
        sources=source,
        ttl=spec.get("AuthorizerResultTtlInSeconds"),
        validation=spec.get("IdentityValidationExpression"),
        functions=functions,
    )
