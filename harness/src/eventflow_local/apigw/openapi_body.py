"""A REST API's OpenAPI definition (its ``Body``), read as API Gateway imports it.

``Body`` is what SAM's transform generates for ``Type: Api`` events, the user's
``DefinitionBody``, or a local ``DefinitionUri``'s file; OpenAPI 2 (``swagger: "2.0"``) and
OpenAPI 3 (``openapi: 3.x``) are read alike:

- each path's methods (``x-amazon-apigateway-any-method`` is ``ANY``) with their
  ``x-amazon-apigateway-integration``
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html):
  ``aws_proxy`` to a function of the template, ``mock`` (its ``responses.default`` status,
  ``responseParameters`` headers and ``responseTemplates``), the others named as not emulated;
- ``security`` (per method, else the document's) against ``securityDefinitions`` /
  ``components.securitySchemes``: ``NONE``, ``x-amazon-apigateway-authtype`` ``awsSigv4``,
  ``cognito_user_pools``, ``custom`` with ``x-amazon-apigateway-authorizer`` ``token`` /
  ``request`` (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authorizer.html),
  and the ``x-api-key`` ``apiKey`` scheme (the method requires an API key);
- ``x-amazon-apigateway-request-validators`` and ``x-amazon-apigateway-request-validator``
  (document default, per method) with the body models (``definitions`` / ``components.schemas``)
  and required parameters
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-request-validators.html);
- ``x-amazon-apigateway-gateway-responses``
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.html)
  and ``x-amazon-apigateway-api-key-source``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from eventflow_local.apigw.auth_plan import (
    AWS_IAM,
    COGNITO,
    DEFAULT_TTL,
    REQUEST,
    TOKEN,
    AuthorizerSpec,
    RouteAuth,
)
from eventflow_local.apigw.definition import (
    ANY,
    AWS_PROXY,
    MOCK,
    GatewayResponse,
    Integration,
    Operation,
    Validation,
)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
ANY_METHOD = "x-amazon-apigateway-any-method"
API_KEY = "api_key"  # marks a security scheme that asks for x-api-key
_WHERE = {"query": "querystring", "header": "header", "path": "path"}


def function_of(uri: Any, functions: Mapping[str, str]) -> str | None:
    """The logical id of the template function a resolved Lambda integration or authorizer URI
    (``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations``) names.
    ``functions``: logical id -> function name."""
    text = str(uri or "")
    found = re.search(r"/functions/(.+?)/invocations", text)
    arn = found.group(1) if found else text
    local = re.fullmatch(r"([A-Za-z0-9]+)\.Arn", arn)
    if local and local.group(1) in functions:
        return local.group(1)
    named = re.search(r":function:([^:/]+)", arn)
    if named:
        for lid, name in functions.items():
            if named.group(1) in (lid, name):
                return lid
    return None


def quoted(value: Any) -> str | None:
    """A static mapping value (``'text'``) without its quotes; None for anything else."""
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return None


def integration_of(raw: Mapping[str, Any], functions: Mapping[str, str]) -> Integration:
    kind = str(raw.get("type") or "").lower()
    uri = str(raw.get("uri") or "")
    if kind == AWS_PROXY:
        return Integration(kind, uri, function_of(uri, functions))
    if kind != MOCK:
        return Integration(kind, uri)
    responses = raw.get("responses") or {}
    chosen: Mapping[str, Any] = responses.get("default") or next(iter(responses.values()), {}) or {}
    headers = []
    for name, value in (chosen.get("responseParameters") or {}).items():
        text = quoted(value)
        if str(name).startswith("method.response.header.") and text is not None:
            headers.append((str(name).split(".", 3)[3], text))
    templates = chosen.get("responseTemplates") or {}
    body = str(templates.get("application/json") or "")
    return Integration(
        MOCK, status=int(chosen.get("statusCode") or 200), headers=tuple(headers), body=body
    )


def authorizer_of(
    api: str, name: str, scheme: Mapping[str, Any], functions: Mapping[str, str]
) -> AuthorizerSpec | str | None:
    """The scheme's authorizer; ``API_KEY`` for the x-api-key scheme; None if not one."""
    authtype = str(scheme.get("x-amazon-apigateway-authtype") or "").lower()
    auth = scheme.get("x-amazon-apigateway-authorizer") or {}
    kind = str(auth.get("type") or "").lower()
    if authtype == "awssigv4":
        return AuthorizerSpec(name, AWS_IAM, api)
    if kind == "cognito_user_pools" or authtype == "cognito_user_pools":
        source = str(auth.get("identitySource") or "method.request.header.Authorization")
        return AuthorizerSpec(name, COGNITO, api, header=source.rsplit(".", 1)[-1])
    if kind in ("token", "request"):
        return lambda_authorizer(
            api,
            name,
            kind=kind.upper(),
            uri=auth.get("authorizerUri"),
            sources=str(auth.get("identitySource") or ""),
            ttl=auth.get("authorizerResultTtlInSeconds"),
            validation=auth.get("identityValidationExpression"),
            functions=functions,
        )
    if (
        str(scheme.get("type")) == "apiKey"
        and str(scheme.get("name", "")).lower() == "x-api-key"
        and str(scheme.get("in")) == "header"
    ):
        return API_KEY
    return None


def lambda_authorizer(
    api: str,
    name: str,
    *,
    kind: str,
    uri: Any,
    sources: str,
    ttl: Any,
    validation: Any,
    functions: Mapping[str, str],
) -> AuthorizerSpec:
    """A TOKEN / REQUEST authorizer from its identity source expression
    (``method.request.header.X, method.request.querystring.y``)."""
    headers, queries = [], []
    for source in (s.strip() for s in sources.split(",") if s.strip()):
        if source.startswith("method.request.header."):
            headers.append(source.split(".", 3)[3])
        elif source.startswith("method.request.querystring."):
            queries.append(source.split(".", 3)[3])
    seconds = DEFAULT_TTL if ttl in (None, "") else int(ttl)
    function = function_of(uri, functions)
    if kind == REQUEST:
        return AuthorizerSpec(
            name, REQUEST, api, function, headers=tuple(headers), query_strings=tuple(queries),
            ttl=seconds,
        )  # fmt: skip
    return AuthorizerSpec(
        name,
        TOKEN,
        api,
        function,
        header=headers[0] if headers else "Authorization",
        ttl=seconds,
        validation=str(validation) if validation else None,
    )


def _schema(raw: Any, models: Mapping[str, Any]) -> Any:
    """A body schema whose ``$ref`` (``#/definitions/x``, ``#/components/schemas/x``) resolve."""
    text = json.dumps(raw).replace("#/components/schemas/", "#/definitions/")
    out = json.loads(text)
    if isinstance(out, dict):
        defs = json.loads(
            json.dumps(dict(models)).replace("#/components/schemas/", "#/definitions/")
        )
        out = {**out, "definitions": {**defs, **(out.get("definitions") or {})}}
    return out


def read_body(
    api: str, body: Mapping[str, Any], functions: Mapping[str, str], skipped: list[str]
) -> tuple[list[Operation], dict[str, GatewayResponse], str]:
    """The methods, gateway responses and API key source of one RestApi's ``Body``."""
    oas3 = "openapi" in body
    components = body.get("components") or {}
    schemes = (components.get("securitySchemes") if oas3 else body.get("securityDefinitions")) or {}
    models = (components.get("schemas") if oas3 else body.get("definitions")) or {}
    validators = body.get("x-amazon-apigateway-request-validators") or {}
    default_validator = body.get("x-amazon-apigateway-request-validator")
    authorizers = {n: authorizer_of(api, n, s or {}, functions) for n, s in schemes.items()}
    operations = []
    for path, item in (body.get("paths") or {}).items():
        shared = list((item or {}).get("parameters") or [])
        for key, op in (item or {}).items():
            if key != ANY_METHOD and key not in METHODS:
                continue
            method = ANY if key == ANY_METHOD else key.upper()
            raw = (op or {}).get("x-amazon-apigateway-integration")
            if not raw:
                skipped.append(f"{api}: {method} {path}: no x-amazon-apigateway-integration")
                continue
            auth = _auth(api, op.get("security", body.get("security")), authorizers)
            validator = (
                validators.get(op.get("x-amazon-apigateway-request-validator", default_validator))
                or {}
            )
            params = shared + list(op.get("parameters") or [])
            content: list[tuple[str, Any]] = []
            for param in params:
                if param.get("in") == "body" and param.get("schema"):
                    content.append(("application/json", _schema(param["schema"], models)))
            for ctype, media in ((op.get("requestBody") or {}).get("content") or {}).items():
                if (media or {}).get("schema"):
                    content.append((str(ctype), _schema(media["schema"], models)))
            required = tuple(
                (_WHERE[p["in"]], str(p["name"]))
                for p in params
                if p.get("required") and p.get("in") in _WHERE
            )
            validation = Validation(
                body=bool(validator.get("validateRequestBody")),
                parameters=bool(validator.get("validateRequestParameters")),
                models=tuple(content),
                required=required,
            )
            integration = integration_of(raw, functions)
            operations.append(Operation(api, method, str(path), integration, auth, validation))
    return (
        operations,
        _responses(body),
        str(body.get("x-amazon-apigateway-api-key-source") or "HEADER"),
    )


def _auth(api: str, security: Any, authorizers: Mapping[str, Any]) -> RouteAuth:
    spec: AuthorizerSpec | None = None
    key = False
    for requirement in security or []:
        for name in requirement or {}:
            found = authorizers.get(name)
            if found == API_KEY:
                key = True
            elif isinstance(found, AuthorizerSpec) and spec is None:
                spec = found
    return RouteAuth(api, spec, key)


def _responses(body: Mapping[str, Any]) -> dict[str, GatewayResponse]:
    out = {}
    for kind, spec in (body.get("x-amazon-apigateway-gateway-responses") or {}).items():
        out[str(kind)] = gateway_response(
            (spec or {}).get("statusCode"),
            (spec or {}).get("responseParameters") or {},
            (spec or {}).get("responseTemplates") or {},
        )
    return out


def gateway_response(
    status: Any, parameters: Mapping[str, Any], templates: Mapping[str, Any]
) -> GatewayResponse:
    headers = []
    for name, value in parameters.items():
        text = quoted(value)
        if str(name).startswith("gatewayresponse.header.") and text is not None:
            headers.append((str(name).split(".", 2)[2], text))
    template = templates.get("application/json")
    return GatewayResponse(
        int(status) if status not in (None, "") else None,
        tuple(headers),
        str(template) if template is not None else None,
    )
