"""What API Gateway serves for a template: the deployed REST APIs (``restapi``) with their API
keys and usage plans (``usage_plans``), the HTTP APIs as deployed (``http_definition``), and what is not
emulated about them; ``start_api`` serves them (``gateway``) with the OpenAPI document the
functions describe (``openapi``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.apigw.auth_plan import REQUEST, TOKEN, describe_auth_routes
from eventflow_local.apigw.definition import AWS_PROXY, MOCK, Operation, RestApi
from eventflow_local.apigw.gateway import ApiGateway
from eventflow_local.apigw.http_definition import HttpApiDef, read_http_apis
from eventflow_local.apigw.httpapi import HttpRoute
from eventflow_local.apigw.openapi import build_openapi
from eventflow_local.apigw.restapi import read_rest_apis
from eventflow_local.apigw.usage_plans import UsagePlans
from eventflow_local.apigw.validation import invalid_schemas
from eventflow_local.template.sam import SamTemplate


@dataclass
class ApiPlan:
    apis: list[RestApi]
    plans: UsagePlans
    http_apis: list[HttpApiDef]
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def http_routes(self) -> list[HttpRoute]:
        return [route for api in self.http_apis for route in api.routes]

    @property
    def operations(self) -> list[Operation]:
        return [o for api in self.apis for o in api.operations]

    @property
    def api_keys(self) -> dict[str, str]:
        """Key value -> ApiKey logical id, of the keys a usage plan gives a stage."""
        held = {k for p in self.plans.plans for k in p.keys}
        return {k.value: k.lid for k in self.plans.keys if k.lid in held and k.enabled}

    def key_stages(self) -> dict[str, list[str]]:
        """RestApi -> its stages, for the APIs with a method that requires a key."""
        return {
            api.lid: list(api.stages)
            for api in self.apis
            if any(o.auth.api_key_required for o in api.operations)
        }

    def describe(self, api_token: str | None) -> list[str]:
        """The start-up lines: what each method needs, and the keys."""
        return describe_auth_routes(
            self.operations, api_token, self.plans.describe(self.key_stages())
        )


def _function_names(template: SamTemplate) -> dict[str, str]:
    """Every function of the template (running here or not) -> its name."""
    return {lid: str(template.ref(lid)) for lid in template.resources_of("AWS::Lambda::Function")}


def plan_api(template: SamTemplate, running: set[str]) -> ApiPlan:
    """The APIs of the ``running`` functions: a method whose function is not started is not
    served (``start-api --functions``)."""
    apis = read_rest_apis(template, _function_names(template))
    skipped: list[str] = []
    for api in apis:
        skipped.extend(api.skipped)
        if not api.stages:
            skipped.append(
                f"{api.lid}: no AWS::ApiGateway::Stage deploys it: not served, as on AWS"
            )
        kept = []
        for op in api.operations:
            where = f"{api.lid}: {op.method} {op.path}"
            kind = op.integration.type
            if kind == AWS_PROXY and op.function is None:
                skipped.append(
                    f"{where}: integration {op.integration.uri} is no function of this template: "
                    'answers 500 {"message": "Internal server error"}'
                )
            elif kind not in (AWS_PROXY, MOCK):
                skipped.append(
                    f"{where}: {kind} integration is not emulated: answers 500 "
                    '{"message": "Internal server error"}'
                )
            if op.function is not None and op.function not in running:
                continue
            spec = op.auth.authorizer
            if spec and spec.kind in (TOKEN, REQUEST) and spec.function is None:
                skipped.append(
                    f"{api.lid}: authorizer {spec.name}: its authorizerUri is no function of this "
                    "template and cannot run locally: the local token (LOCAL_API_TOKEN) stands in"
                )
            if spec and spec.function and spec.function not in running:
                skipped.append(
                    f"{where}: authorizer {spec.name}'s function {spec.function} is not started "
                    "here (the method answers 500 AuthorizerConfigurationException)"
                )
            for ctype in invalid_schemas(op.validation):
                skipped.append(
                    f"{where}: the {ctype} model is no JSON schema draft 4: not validated"
                )
            kept.append(op)
        api.operations = kept
        if api.api_key_source != "HEADER":
            skipped.append(
                f"{api.lid}: ApiKeySourceType {api.api_key_source} (usageIdentifierKey) is not "
                "used: the key is read from the x-api-key header"
            )
    http = read_http_apis(template, running)
    return ApiPlan(
        apis=apis,
        plans=UsagePlans.read(template),
        http_apis=http.apis,
        refused=list(http.refused),
        skipped=[*dict.fromkeys(skipped), *http.skipped],
    )


def openapi_builder(
    template: SamTemplate,
    plan: ApiPlan,
    runtimes: Mapping[str, Any],
    url: Callable[[], str],
    *,
    api_token: str,
    log: Callable[[str], None],
) -> Callable[[], dict[str, Any]]:
    """What builds ``/openapi.json`` of ``plan`` on first request, each running function
    describing itself in its own worker."""

    def openapi() -> dict[str, Any]:
        return build_openapi(
            template,
            runtimes,
            operations=plan.operations,
            server_url=url(),
            local_token=bool(api_token),
            log=log,
        )

    return openapi


def start_api(
    template: SamTemplate,
    plan: ApiPlan,
    runtimes: Mapping[str, Any],
    *,
    host: str,
    port: int,
    api_token: str,
    region: str,
    instance: str,
    console: Any,
    log: Callable[[str], None],
) -> ApiGateway:
    """The API server of ``plan``, started; ``/openapi.json`` is built on first request, each
    running function describing itself in its own worker."""
    gateway: ApiGateway | None = None

    def url() -> str:
        assert gateway is not None
        return gateway.url

    openapi = openapi_builder(template, plan, runtimes, url, api_token=api_token, log=log)
    gateway = ApiGateway(
        plan.apis,
        runtimes,
        host=host,
        port=port,
        log=log,
        api_token=api_token,
        openapi=openapi,
        plans=plan.plans,
        region=region,
        http_apis=plan.http_apis,
        instance=instance,
        console=console,
    )
    gateway.start()
    return gateway
