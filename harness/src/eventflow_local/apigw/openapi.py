"""One OpenAPI document for the whole REST API, generated from the functions' own routes.

A function whose handler module holds a Powertools resolver with typed routes can describe
itself (``app.get_openapi_schema()``). That code is the function's, with the function's own
packages, environment and Python, so it is asked where it runs: each running function's worker
answers a describe request (``FunctionRuntime.openapi``, ``eventflow_local/runtime/worker.py``)
and nothing of it is imported into the harness's process. This module merges the answers of the
functions the API's routes reach, keeps only the paths and methods the deployed REST APIs route to them
(``eventflow_local.apigw.restapi``), and adds what API Gateway contributes: the stage server and,
per operation, what the deployed definition requires (``eventflow_local.apigw.auth_plan``): nothing, the local token standing in for
AWS_IAM / Cognito, a Lambda authorizer's identity sources, an API key. The title and description
are the app's, from the template's ``Description``. A function that cannot describe itself is
left out with one line saying why. The harness serves the result at ``/openapi.json`` and Swagger
UI at ``/swagger`` (its assets from the harness itself, offline).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from eventflow_local.apigw.auth_plan import AWS_IAM, COGNITO, REQUEST, AuthorizerSpec, RouteAuth
from eventflow_local.apigw.definition import ANY, Operation
from eventflow_local.runtime.functions import DescribeError
from eventflow_local.template.sam import SamTemplate

ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
API_KEY_SCHEME = "apiKey"
LOCAL_TOKEN_SCHEME = "localToken"
TITLE_MAX = 80
#: what API Gateway itself answers on error, whatever the functions answer (its default gateway
#: responses: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html)
ERROR_NOTE = (
    "Errors that API Gateway answers itself (no such route, missing or refused credentials, "
    'a failed authorizer or integration) have the body {"message": ...}.'
)
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

Log = Callable[[str], None]


class Describes(Protocol):
    """What answers for one function (``eventflow_local.runtime.functions.FunctionRuntime``)."""

    def openapi(self, title: str, version: str) -> dict[str, Any] | None: ...


def _template_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def api_title(description: str, folder: str) -> str:
    """The title for a template's ``Description``: its first line's first sentence, the name
    before a dash or colon when it starts with one (``sam init``'s ``sam-app``), "<name> API"
    for a bare name; "<folder> API" without a Description."""
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0].rstrip(".!? ")
    title = re.split(r"\s+[-\u2013\u2014]\s+|:\s+", sentence, maxsplit=1)[0].strip() or sentence
    if not title:
        return f"{folder} API"
    if " " not in title and not title.lower().endswith("api"):
        title += " API"
    if len(title) > TITLE_MAX:  # cut at a word, and before a parenthesis it would leave open
        cut = title[:TITLE_MAX].rsplit(" ", 1)[0]
        if cut.count("(") > cut.count(")"):
            cut = cut[: cut.rindex("(")]
        title = cut.rstrip(" ,;:") + "\u2026"
    return title


def api_info(template: SamTemplate, version: str) -> dict[str, str]:
    """The document's ``info``: the app's title and description, and API Gateway's error body."""
    raw = template.doc.get("Description")
    description = raw.strip() if isinstance(raw, str) else ""
    return {
        "title": api_title(description, template.root.resolve().name),
        "version": version,
        "description": f"{description}\n\n{ERROR_NOTE}" if description else ERROR_NOTE,
    }


def build_openapi(
    template: SamTemplate,
    functions: Mapping[str, Describes],
    *,
    operations: Sequence[Operation] = (),
    server_url: str | None = None,
    version: str = "1.0.0",
    local_token: bool = True,
    log: Log = print,
) -> dict[str, Any]:
    """Merge the OpenAPI documents of the running ``functions`` that the REST APIs'
    ``operations`` reach, each with what it needs (``local_token``: whether the stand-in token is
    checked). A function that cannot answer is logged, in one line, and left out."""
    routes = [o for o in operations if o.function in functions]
    needs: dict[tuple[str, str], RouteAuth] = {}
    for op in routes:
        needs[(op.method.lower(), _template_path(op.path))] = op.auth
    schemes: dict[str, Any] = {}
    declared = {(r.method.lower(), _template_path(r.path)) for r in routes}
    any_paths = {_template_path(r.path) for r in routes if r.method == ANY}
    info = api_info(template, version)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": info,
        "paths": {},
        "components": {"schemas": {}},
    }
    asked = sorted({r.function for r in routes if r.function})

    def ask(logical_id: str) -> dict[str, Any] | DescribeError | None:
        try:
            return functions[logical_id].openapi(info["title"], version)
        except DescribeError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(asked)))) as pool:
        answers = list(pool.map(ask, asked))  # each in its own worker: at once
    for logical_id, part in zip(asked, answers, strict=True):
        if isinstance(part, DescribeError):
            log(f"openapi: {logical_id}: {part}; its routes are left out of /openapi.json")
            continue
        if part is None:
            continue  # no resolver that describes itself: its routes are not documented
        for path, described in (part.get("paths") or {}).items():
            for method, operation in described.items():
                shape = _template_path(path)
                if (method, shape) not in declared and shape not in any_paths:
                    continue  # a route the function knows but API Gateway does not send it
                needed = needs.get((method, shape), needs.get(("any", shape)))
                if needed is not None:
                    _secure(operation, needed, schemes, local_token)
                doc["paths"].setdefault(path, {})[method] = operation
        doc["components"]["schemas"].update((part.get("components") or {}).get("schemas") or {})
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
    spec_url: str = "/openapi.json", title: str = "Swagger UI", assets: str = SWAGGER_ASSETS
) -> str:
    return SWAGGER_HTML.format(spec_url=spec_url, title=title, assets=assets)
