"""What a REST API method needs before its integration runs, as the deployed definition says.

The values here are read from the API's definition (``eventflow_local.apigw.restapi``: an
OpenAPI ``Body`` with ``securityDefinitions`` / ``components.securitySchemes`` and
``x-amazon-apigateway-authorizer``, or ``AWS::ApiGateway::Method`` + ``AWS::ApiGateway::Authorizer``
resources), never from SAM's ``Auth``: SAM's transform has already turned ``Auth`` into them.

- ``AuthorizerSpec``: one authorizer: a Lambda ``TOKEN`` / ``REQUEST`` authorizer (run locally by
  ``eventflow_local.apigw.authorizers`` when its function is in the template), a Cognito user pool
  authorizer, or ``AWS_IAM``; the last two cannot be checked offline, so the local token stands in
  (``eventflow_local.apigw.local_token``).
- ``describe_auth_routes``: the start-up lines saying, once, what each method needs locally.

Sources: "x-amazon-apigateway-authorizer object"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authorizer.html),
"x-amazon-apigateway-authtype property" (.../api-gateway-swagger-extensions-authtype.html),
``AWS::ApiGateway::Authorizer``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-authorizer.html).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TTL = 300  # authorizerResultTtlInSeconds' default, in seconds
TOKEN, REQUEST, COGNITO, AWS_IAM = "TOKEN", "REQUEST", "COGNITO_USER_POOLS", "AWS_IAM"


@dataclass(frozen=True)
class AuthorizerSpec:
    """One authorizer of one API, as the definition declares it."""

    name: str
    kind: str  # TOKEN | REQUEST (Lambda authorizers), COGNITO_USER_POOLS, AWS_IAM
    api: str
    function: str | None = None  # logical id of the authorizer function (Lambda authorizers)
    header: str = "Authorization"  # TOKEN and Cognito: where the token is read from
    headers: tuple[str, ...] = ()  # REQUEST identity sources
    query_strings: tuple[str, ...] = ()
    ttl: int = DEFAULT_TTL  # authorizerResultTtlInSeconds; 0 = no cache
    validation: str | None = None  # TOKEN identityValidationExpression

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
    """What one method needs before its integration is called."""

    api: str
    authorizer: AuthorizerSpec | None = None
    api_key_required: bool = False

    @property
    def open(self) -> bool:
        return self.authorizer is None and not self.api_key_required


class Described(Protocol):
    """A method as the start-up lines name it (``restapi.Operation``)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def auth(self) -> RouteAuth: ...


def _names(operations: Sequence[Described]) -> str:
    return ", ".join(
        f"{o.method} {o.path}" for o in sorted(operations, key=lambda o: (o.path, o.method))
    )


def describe_auth_routes(
    operations: Iterable[Described], api_token: str | None, key_lines: Sequence[str] = ()
) -> list[str]:
    """The start-up lines that say, once, what each method needs locally (``key_lines``: the API
    keys, from ``usage_plans.UsagePlans.describe``)."""
    groups: dict[str, list[Described]] = {}
    for operation in operations:
        spec = operation.auth.authorizer
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
        if operation.auth.api_key_required:
            label += " + API key (x-api-key)"
        groups.setdefault(label, []).append(operation)
    return [f"{label}: {_names(ops)}" for label, ops in groups.items()] + list(key_lines)
