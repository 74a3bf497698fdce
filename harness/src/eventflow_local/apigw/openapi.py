"""One OpenAPI document for the whole REST API, generated from the functions' own routes.

Every API function is a Powertools resolver with pydantic-typed routes, so each can describe
itself (``app.get_openapi_schema()``). This module loads each function of the template that has
``Type: Api`` events (in its own module namespace, with its own environment), merges their paths
and component schemas, and adds what API Gateway contributes: the stage server and, per
operation, what the template's Auth requires (``eventflow_local.apigw.auth_plan``): nothing, the local token
standing in for AWS_IAM / Cognito, a Lambda authorizer's identity sources, an API key. The harness serves the result at ``/openapi.json`` and
Swagger UI at ``/swagger`` (its assets from the harness itself, offline); ``python -m eventflow_local openapi`` prints it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from eventflow_local.apigw.auth_plan import (
    AWS_IAM,
    COGNITO,
    REQUEST,
    AuthorizerSpec,
    AuthPlan,
    RouteAuth,
)
from eventflow_local.template.sam import SamTemplate

ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
API_KEY_SCHEME = "apiKey"
LOCAL_TOKEN_SCHEME = "localToken"
SWAGGER_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "{spec_url}", dom_id: "#swagger-ui", validatorUrl: null}});</script>
</body></html>
"""


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _template_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def build_openapi(
    template: SamTemplate,
    environment: Callable[[str], Mapping[str, str]] | None = None,
    *,
    server_url: str | None = None,
    title: str = "eventflow API",
    version: str = "1.0.0",
    auth: AuthPlan | None = None,
    local_token: bool = True,
    only: Collection[str] | None = None,
) -> dict[str, Any]:
    """Merge the OpenAPI documents of every API function of ``template`` (or of ``only``);
    ``auth`` says what each route needs (``local_token``: whether the stand-in token is checked)."""
    functions = template.functions()
    routes = [r for r in template.routes() if only is None or r.function in only]
    needs: dict[tuple[str, str], RouteAuth] = {}
    if auth is not None:
        kept = {(r.function, r.event) for r, _ in auth.routes}  # refused routes do not start
        routes = [r for r in routes if (r.function, r.event) in kept]
        for route, route_auth in auth.routes:
            needs[(route.method.lower(), _template_path(route.path))] = route_auth
    schemes: dict[str, Any] = {}
    api_functions = sorted({r.function for r in routes})
    declared = {(r.method.lower(), _template_path(r.path)) for r in routes}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": 'Fraud detection and earthquake stream. Errors are {"message": ...}.',
        },
        "paths": {},
        "components": {"schemas": {}},
    }
    for layer in template.layer_dirs():
        if str(layer) not in sys.path:
            sys.path.append(str(layer))
    for logical_id in api_functions:
        spec = functions[logical_id]
        env = dict(environment(logical_id) if environment else spec.environment)
        name = f"openapi_{logical_id}"
        module_spec = importlib.util.spec_from_file_location(name, spec.module_file)
        if module_spec is None or module_spec.loader is None:
            raise RuntimeError(f"cannot load {spec.module_file}")
        module = importlib.util.module_from_spec(module_spec)
        with _environment(env):
            module_spec.loader.exec_module(module)
            app = getattr(module, "app", None)
            if app is None or not hasattr(app, "get_openapi_schema"):
                continue
            part = app.get_openapi_schema(title=title, version=version).model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        for path, operations in part.get("paths", {}).items():
            for method, operation in operations.items():
                if (method, _template_path(path)) not in declared:
                    continue  # a route the function knows but API Gateway does not send it
                needed = needs.get((method, _template_path(path)))
                if needed is not None:
                    _secure(operation, needed, schemes, local_token)
                doc["paths"].setdefault(path, {})[method] = operation
        doc["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    _use_error_body(doc)
    if schemes:
        doc["components"]["securitySchemes"] = schemes
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def _secure(
    operation: dict[str, Any], route_auth: RouteAuth, schemes: dict[str, Any], local_token: bool
) -> None:
    """Add the operation's security requirement, its schemes and its 401/403/500 answers."""
    requirement: dict[str, list[str]] = {}
    responses = operation.setdefault("responses", {})
    spec = route_auth.authorizer
    if spec is not None and (spec.is_lambda or local_token):
        name = _scheme(spec, schemes)
        requirement[name] = []
        responses["401"] = {"description": "Missing credentials"}
        responses["403"] = {"description": "Credentials not accepted"}
        if spec.is_lambda:
            responses["500"] = {"description": 'The authorizer failed ({"message": null})'}
    if route_auth.api_key_required:
        schemes[API_KEY_SCHEME] = {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "ApiKeyRequired: an API key (AWS::ApiGateway::ApiKey, or the local "
            "key the harness prints at start-up)",
        }
        requirement[API_KEY_SCHEME] = []
        responses["403"] = {"description": "Missing or unknown API key, or credentials refused"}
    if requirement:
        operation["security"] = [requirement]


def _scheme(spec: AuthorizerSpec, schemes: dict[str, Any]) -> str:
    if not spec.is_lambda:
        deployed = {AWS_IAM: "IAM (SigV4)", COGNITO: f"Cognito authorizer {spec.name}"}.get(
            spec.kind, f"Lambda authorizer {spec.name}"
        )
        schemes[LOCAL_TOKEN_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "Locally: the harness token (LOCAL_API_TOKEN, default "
            f"local-dev-token) stands in for what cannot be checked offline. Deployed: {deployed}.",
        }
        return LOCAL_TOKEN_SCHEME
    sources = ", ".join(spec.identity_sources())
    if spec.kind == REQUEST and not spec.headers and spec.query_strings:
        where, what = "query", spec.query_strings[0]
    else:
        where, what = (
            "header",
            (spec.headers[0] if spec.kind == REQUEST and spec.headers else spec.header),
        )
    schemes[spec.name] = {
        "type": "apiKey",
        "in": where,
        "name": what,
        "description": f"Lambda {spec.kind} authorizer {spec.name} (identity: {sources}; "
        f"function {spec.function}; result cached {spec.ttl} s)",
    }
    return spec.name


def _use_error_body(doc: dict[str, Any]) -> None:
    """Validation errors answer ``ErrorBody`` (``{"message", "errors"}``), not Powertools' default."""
    schemas = doc["components"]["schemas"]
    for operations in doc["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                # ids: what check_id accepts, else 400 (unless the route states its own pattern)
                if param.get("in") == "path" and "pattern" not in param.get("schema", {}):
                    param["schema"] = {
                        **param.get("schema", {}),
                        "pattern": ID_PATTERN,
                        "maxLength": 64,
                    }
            responses = operation.get("responses", {})
            if "204" in responses:
                responses["204"].pop("content", None)  # No Content has no body
            for code in ("401", "403"):
                if code in responses and "ErrorBody" in schemas:
                    responses[code]["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    }
            response = responses.get("422")
            if response is not None and "ErrorBody" in schemas:
                response["content"] = {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                }
    text = str(doc["paths"])
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"/{unused}'" not in text:
            schemas.pop(unused, None)


#: where the API server serves Swagger UI's script and stylesheet (eventflow_local/console/server.py, from
#: the PyPI package swagger-ui-py): no CDN, so /swagger works offline
SWAGGER_ASSETS = "/_console/swagger-ui"


def swagger_html(
    spec_url: str = "/openapi.json", title: str = "eventflow API", assets: str = SWAGGER_ASSETS
) -> str:
    return SWAGGER_HTML.format(spec_url=spec_url, title=title, assets=assets)
