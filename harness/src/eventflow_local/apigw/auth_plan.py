"""What the template says each API route needs: no authorization, an authorizer, an API key.

SAM decides a REST API method's authorization from the API's ``Auth`` (an ``AWS::Serverless::Api``
resource's own, merged over ``Globals.Api.Auth``; an event without ``RestApiId`` belongs to the
implicit ``ServerlessRestApi``, which has only ``Globals.Api.Auth``) and the event's ``Auth``:

- no ``Auth`` anywhere: the method is open (``AuthorizationType: NONE``);
- ``Auth.DefaultAuthorizer`` applies to every method of the API unless the event names another
  ``Authorizer`` or says ``Authorizer: NONE``; ``AWS_IAM`` needs no entry in ``Authorizers``;
- an ``Authorizers`` entry with ``FunctionArn`` is a Lambda authorizer (``FunctionPayloadType``
  ``TOKEN``, the default, or ``REQUEST``), one with ``UserPoolArn`` a Cognito authorizer;
- ``Auth.ApiKeyRequired`` (API-wide, or per event, which wins) requires ``x-api-key``.

A default or per-event authorizer that ``Authorizers`` does not define is refused by SAM at
deploy; locally the routes of such an API do not start (``AuthPlan.refused``). Properties that
cannot be checked offline (resource policies, scopes, invoke roles, usage plan limits) are named
in ``AuthPlan.skipped``.

Sources: the SAM reference pages "ApiAuth", "ApiFunctionAuth", "LambdaTokenAuthorizer",
"LambdaRequestAuthorizer", "CognitoAuthorizer"
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-apiauth.html,
.../sam-property-function-apifunctionauth.html, .../sam-property-api-lambdatokenauthorizer.html,
.../sam-property-api-lambdarequestauthorizer.html) and "Control access to a REST API with API keys"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import Route

IMPLICIT_API = "ServerlessRestApi"
DEFAULT_TTL = 300  # ReauthorizeEvery's default, in seconds
TOKEN, REQUEST, COGNITO, AWS_IAM = "TOKEN", "REQUEST", "COGNITO_USER_POOLS", "AWS_IAM"


@dataclass(frozen=True)
class AuthorizerSpec:
    """One authorizer of one API, as the template declares it."""

    name: str
    kind: str  # TOKEN | REQUEST (Lambda authorizers), COGNITO_USER_POOLS, AWS_IAM
    api: str
    function: str | None = None  # logical id of the authorizer function (Lambda authorizers)
    header: str = "Authorization"  # TOKEN and Cognito: where the token is read from
    headers: tuple[str, ...] = ()  # REQUEST identity sources
    query_strings: tuple[str, ...] = ()
    ttl: int = DEFAULT_TTL  # ReauthorizeEvery; 0 = no cache
    validation: str | None = None  # TOKEN ValidationExpression

    @property
    def is_lambda(self) -> bool:
        """A Lambda authorizer whose function is in this template (so it runs locally)."""
        return self.kind in (TOKEN, REQUEST) and self.function is not None

    def identity_sources(self) -> list[str]:
        """How the OpenAPI document and the start-up lines name what the caller sends."""
        if self.kind == REQUEST:
            return [f"header {h}" for h in self.headers] + [
                f"query {q}" for q in self.query_strings
            ]
        return [f"header {self.header}"]


@dataclass(frozen=True)
class RouteAuth:
    """What one route needs before its function is invoked."""

    api: str
    authorizer: AuthorizerSpec | None = None
    api_key_required: bool = False

    @property
    def open(self) -> bool:
        return self.authorizer is None and not self.api_key_required


@dataclass
class AuthPlan:
    routes: list[tuple[Route, RouteAuth]] = field(default_factory=list)
    #: accepted API key values -> the key's name (AWS::ApiGateway::ApiKey logical id, or "local")
    api_keys: dict[str, str] = field(default_factory=dict)
    #: True when no key was declared with a Value and the harness made one up
    generated_key: bool = False
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def authorizers(self) -> list[AuthorizerSpec]:
        found = {(a.api, a.name): a for _, ra in self.routes if (a := ra.authorizer)}
        return list(found.values())

    def needs_api_key(self) -> bool:
        return any(ra.api_key_required for _, ra in self.routes)


class AuthConfigError(ValueError):
    """A template's Auth that SAM would refuse."""


def _function_of(template: SamTemplate, arn: Any) -> str | None:
    """The logical id of the function a resolved ``FunctionArn`` names."""
    functions = template.functions()
    text = str(arn)
    found = re.fullmatch(r"([A-Za-z0-9]+)\.Arn", text)
    if found and found.group(1) in functions:
        return found.group(1)
    found = re.search(r":function:([^:]+)", text)
    if found:
        for lid, spec in functions.items():
            if found.group(1) in (lid, str(spec.properties.get("FunctionName") or lid)):
                return lid
    return None


def _authorizer(
    template: SamTemplate, api: str, name: str, props: Mapping[str, Any]
) -> tuple[AuthorizerSpec, list[str]]:
    notes: list[str] = []
    identity = dict(props.get("Identity") or {})
    ttl = int(identity.get("ReauthorizeEvery", DEFAULT_TTL))
    if "UserPoolArn" in props:
        return AuthorizerSpec(
            name, COGNITO, api, header=str(identity.get("Header") or "Authorization"), ttl=ttl
        ), notes
    if "FunctionArn" not in props:
        raise AuthConfigError(f"Authorizer {name} needs FunctionArn or UserPoolArn")
    function = _function_of(template, props["FunctionArn"])
    if function is None:
        notes.append(
            f"{api}.Auth.Authorizers.{name}.FunctionArn: {props['FunctionArn']} is no function of "
            "this template and cannot run locally: the local token (LOCAL_API_TOKEN) stands in"
        )
    kind = str(props.get("FunctionPayloadType") or TOKEN).upper()
    if kind not in (TOKEN, REQUEST):
        raise AuthConfigError(f"Authorizer {name}: FunctionPayloadType must be TOKEN or REQUEST")
    for prop in ("StageVariables", "Context"):
        if identity.get(prop):
            notes.append(
                f"{api}.Auth.Authorizers.{name}.Identity.{prop}: not used as identity source "
                "locally (headers and query strings are)"
            )
    if props.get("FunctionInvokeRole"):
        notes.append(f"{api}.Auth.Authorizers.{name}.FunctionInvokeRole: IAM is not checked")
    if kind == REQUEST:
        headers = tuple(str(h) for h in identity.get("Headers") or ())
        queries = tuple(str(q) for q in identity.get("QueryStrings") or ())
        sources = headers or queries or identity.get("StageVariables") or identity.get("Context")
        if ttl > 0 and not sources:
            raise AuthConfigError(
                f"Authorizer {name} must specify Identity with at least one of Headers, "
                "QueryStrings, StageVariables, or Context"
            )
        return AuthorizerSpec(
            name, REQUEST, api, function, headers=headers, query_strings=queries, ttl=ttl
        ), notes
    return AuthorizerSpec(
        name,
        TOKEN,
        api,
        function,
        header=str(identity.get("Header") or "Authorization"),
        ttl=ttl,
        validation=identity.get("ValidationExpression"),
    ), notes


def _api_auths(template: SamTemplate) -> dict[str, dict[str, Any]]:
    """Logical id of every REST API -> its resolved Auth (Globals.Api.Auth merged in)."""
    rest_api = "AWS::Serverless::Api"
    out = {IMPLICIT_API: dict(template.global_property(rest_api, "Auth") or {})}
    for lid in template.sam_resources_of(rest_api):
        out[lid] = dict(template.property_of(lid, "Auth") or {})
    return out


def plan_auth(
    template: SamTemplate, routes: list[Route] | None = None, running: set[str] | None = None
) -> AuthPlan:
    """Every Api route of ``template`` (or ``routes``) with what it needs; the API keys; what is
    not emulated (``running``: the functions started, when not all of them are)."""
    result = AuthPlan()
    auths = _api_auths(template)
    authorizers: dict[str, dict[str, AuthorizerSpec]] = {}
    broken: dict[str, str] = {}
    for api, auth in auths.items():
        authorizers[api] = {}
        try:
            for name, props in (auth.get("Authorizers") or {}).items():
                found, notes = _authorizer(template, api, name, props or {})
                authorizers[api][name] = found
                result.skipped.extend(notes)
            default = auth.get("DefaultAuthorizer")
            if default and default != AWS_IAM and default not in authorizers[api]:
                raise AuthConfigError(
                    f"Unable to set DefaultAuthorizer because '{default}' was not defined in "
                    "'Authorizers'"
                )
        except AuthConfigError as exc:
            broken[api] = str(exc)
        for prop in ("ResourcePolicy", "InvokeRole"):
            if auth.get(prop):
                result.skipped.append(f"{api}.Auth.{prop}: IAM policies are not evaluated locally")
        usage = auth.get("UsagePlan") or {}
        if usage.get("Quota") or usage.get("Throttle"):
            result.skipped.append(f"{api}.Auth.UsagePlan: quota and throttle are not enforced")
    for lid, res in template.sam_resources_of("AWS::Serverless::Api").items():
        source = template.resolve((res.get("Properties") or {}).get("ApiKeySourceType"))
        if str(source).upper() == "AUTHORIZER":
            result.skipped.append(
                f"{lid}.ApiKeySourceType: AUTHORIZER (usageIdentifierKey) is not used: the key is "
                "read from the x-api-key header"
            )
    wanted = routes if routes is not None else template.routes()
    events = {
        (fn.logical_id, ev.name): ev.properties
        for fn in template.functions().values()
        for ev in fn.events_of("Api")
    }
    for route in wanted:
        props = events.get((route.function, route.event), {})
        api = str(template.logical_id_of(props.get("RestApiId")) or IMPLICIT_API)
        where = f"{route.function}.{route.event}"
        if api not in auths:
            result.refused.append(f"{where}: RestApiId: {api} is no AWS::Serverless::Api here")
            continue
        if api in broken:
            result.refused.append(f"{where}: Auth: {broken[api]}")
            continue
        api_auth, event_auth = auths[api], dict(props.get("Auth") or {})
        name = event_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
        spec: AuthorizerSpec | None = None
        if name == AWS_IAM:
            spec = AuthorizerSpec(AWS_IAM, AWS_IAM, api)
        elif name and name != "NONE":
            if name not in authorizers[api]:
                result.refused.append(
                    f"{where}: Auth.Authorizer: Unable to set Authorizer [{name}] on API method "
                    f"[{route.method.lower()}] for path [{route.path}] because it wasn't defined "
                    "in the API's Authorizers"
                )
                continue
            spec = authorizers[api][name]
        for prop in ("AuthorizationScopes", "ResourcePolicy", "InvokeRole"):
            if event_auth.get(prop):
                result.skipped.append(f"{where}.Auth.{prop}: not checked locally")
        key_required = bool(event_auth.get("ApiKeyRequired", api_auth.get("ApiKeyRequired")))
        result.routes.append((route, RouteAuth(api, spec, key_required)))
        if spec and spec.function and running is not None and spec.function not in running:
            result.skipped.append(
                f"{where}: Auth: authorizer {spec.name}'s function {spec.function} is not started "
                "here (the route answers 500 AuthorizerConfigurationException)"
            )
    _api_keys(template, result)
    return result


def _api_keys(template: SamTemplate, result: AuthPlan) -> None:
    """Keys with a ``Value`` are accepted as declared; without one, one local key stands in."""
    declared = False
    for lid, res in template.resources_of("AWS::ApiGateway::ApiKey").items():
        props = template.resolve(res.get("Properties") or {})
        declared = True
        if props.get("Enabled") is False or str(props.get("Enabled")).lower() == "false":
            continue
        if props.get("Value"):
            result.api_keys[str(props["Value"])] = lid
    if result.needs_api_key() and not result.api_keys:
        result.api_keys[f"local-{secrets.token_hex(12)}"] = "local"
        result.generated_key = True
    elif declared and result.needs_api_key():
        result.skipped.append(
            "AWS::ApiGateway::ApiKey: a declared key opens every route that requires a key "
            "(usage plans and their stages are not checked)"
        )


def _route_names(routes: list[Route]) -> str:
    return ", ".join(
        f"{r.method} {r.path}" for r in sorted(routes, key=lambda r: (r.path, r.method))
    )


def describe_auth_routes(auth: AuthPlan, api_token: str | None) -> list[str]:
    """The start-up lines that say, once, what each route needs locally."""
    groups: dict[str, list[Route]] = {}
    for route, route_auth in auth.routes:
        spec = route_auth.authorizer
        if spec is None:
            label = "open (no authorizer)"
        elif not spec.is_lambda:
            what = {AWS_IAM: "AWS_IAM", COGNITO: f"Cognito authorizer {spec.name}"}.get(
                spec.kind, f"Lambda authorizer {spec.name} of another stack"
            )
            label = (
                f"{what} cannot be checked offline: 'Authorization: Bearer {api_token}' stands in "
                "(LOCAL_API_TOKEN)"
                if api_token
                else f"{what} cannot be checked offline: open (LOCAL_API_TOKEN is empty)"
            )
        else:
            cache = f"cached {spec.ttl} s" if spec.ttl else "not cached"
            label = (
                f"Lambda {spec.kind} authorizer {spec.name} runs {spec.function} "
                f"({', '.join(spec.identity_sources()) or 'no identity source'}; {cache})"
            )
        if route_auth.api_key_required:
            label += " + API key (x-api-key)"
        groups.setdefault(label, []).append(route)
    lines = [f"{label}: {_route_names(routes)}" for label, routes in groups.items()]
    if auth.needs_api_key():
        for key, name in auth.api_keys.items():
            origin = (
                "made up here: no AWS::ApiGateway::ApiKey declares a Value"
                if name == "local"
                else f"AWS::ApiGateway::ApiKey {name}"
            )
            lines.append(f"API key 'x-api-key: {key}'   ({origin})")
    return lines
