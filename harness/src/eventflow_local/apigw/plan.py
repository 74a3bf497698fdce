"""What API Gateway serves for a template: the REST routes of the running functions with what
each needs (``auth_plan``), the HTTP API routes (``httpapi``), the REST stage, and what is
refused or not emulated about them; ``start_api`` serves them (``gateway``) with the OpenAPI
document the functions describe (``openapi``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.apigw.auth_plan import AuthPlan, plan_auth
from eventflow_local.apigw.gateway import ApiGateway
from eventflow_local.apigw.httpapi import HttpRoute, http_routes
from eventflow_local.apigw.openapi import build_openapi
from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import Route

#: the stage SAM's implicit API deploys when the template names none
DEFAULT_STAGE = "Prod"


@dataclass
class ApiPlan:
    auth: AuthPlan
    http_routes: list[HttpRoute]
    stage: str
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def routes(self) -> list[Route]:
        """The REST routes that start (a refused route does not)."""
        return [route for route, _ in self.auth.routes]


def rest_api_stage(template: SamTemplate) -> str:
    """The ``StageName`` of the template's ``AWS::Serverless::Api`` (SAM's default: Prod)."""
    for props in template.sam_resources_of("AWS::Serverless::Api").values():
        stage = template.resolve(props.get("Properties", {})).get("StageName")
        if stage:
            return str(stage)
    return DEFAULT_STAGE


def plan_api(template: SamTemplate, running: set[str]) -> ApiPlan:
    """The API of the ``running`` functions."""
    routes = [r for r in template.routes() if r.function in running]
    auth = plan_auth(template, routes, running=running)
    http, http_skipped = http_routes(template, running)
    return ApiPlan(
        auth=auth,
        http_routes=http,
        stage=rest_api_stage(template),
        refused=list(auth.refused),
        skipped=[*auth.skipped, *http_skipped],
    )


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

    def openapi() -> dict[str, Any]:
        assert gateway is not None
        return build_openapi(
            template,
            runtimes,
            server_url=gateway.url,
            auth=plan.auth,
            local_token=bool(api_token),
            log=log,
        )

    gateway = ApiGateway(
        plan.routes,
        runtimes,
        host=host,
        port=port,
        stage=plan.stage,
        log=log,
        api_token=api_token,
        openapi=openapi,
        auth=plan.auth,
        region=region,
        http_routes=plan.http_routes,
        instance=instance,
        console=console,
    )
    gateway.start()
    return gateway
