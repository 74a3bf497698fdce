"""The values a deployed REST API is served from: its methods (``Operation``), their
integrations, validators and models, its stages and gateway responses (``RestApi``).

They are read from what CloudFormation deploys (``eventflow_local.apigw.restapi``), whatever
wrote it: SAM's transform, the user's ``DefinitionBody`` or plain ``AWS::ApiGateway::*``
resources. Paths match as API Gateway matches them
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html#setup-method-resources):
a literal path segment wins over a ``{param}``, which wins over a greedy ``{proxy+}``; a trailing
slash reaches the same resource (``/items`` and ``/items/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.apigw.auth_plan import RouteAuth

AWS_PROXY, MOCK = "aws_proxy", "mock"
ANY = "ANY"


@dataclass(frozen=True)
class Integration:
    """``x-amazon-apigateway-integration`` / ``AWS::ApiGateway::Method.Integration``."""

    type: str  # aws_proxy, mock, http, http_proxy, aws (lower case)
    uri: str = ""
    #: logical id of the template function an aws_proxy integration invokes
    function: str | None = None
    #: a mock's answer: its default integration response's status, static headers, template
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""


@dataclass(frozen=True)
class Validation:
    """What the method's request validator checks (``x-amazon-apigateway-request-validator``)."""

    body: bool = False
    parameters: bool = False
    #: content type -> JSON schema (draft 4) with its ``$ref`` targets inlined under definitions
    models: tuple[tuple[str, Any], ...] = ()
    #: (where, name) of required parameters: where is path, querystring or header
    required: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Operation:
    """One method of one resource of one REST API."""

    api: str  # the RestApi's logical id
    method: str  # GET, POST, ... or ANY (x-amazon-apigateway-any-method)
    path: str  # the resource path: /items/{id}, /{proxy+}
    integration: Integration
    auth: RouteAuth
    validation: Validation = field(default_factory=Validation)

    @property
    def function(self) -> str | None:
        return self.integration.function

    @property
    def pattern(self) -> re.Pattern[str]:
        return path_pattern(self.path)

    @property
    def rank(self) -> tuple[int, int, int]:
        """Sort key: literal paths first, then {param} paths, greedy paths last; longer first."""
        return (int("+}" in self.path), self.path.count("{"), -len(self.path))


def path_pattern(path: str) -> re.Pattern[str]:
    """The regular expression of a resource path; a trailing slash matches the same resource."""
    trimmed = path.rstrip("/") or "/"
    regex = re.sub(r"\\\{([^}/+]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(trimmed))
    regex = re.sub(r"\\\{([^}/]+)\\\}", r"(?P<\1>[^/]+)", regex)
    if trimmed == "/":
        return re.compile("^/$")
    return re.compile(f"^{regex}/?$")


@dataclass(frozen=True)
class GatewayResponse:
    """A customised gateway response (``x-amazon-apigateway-gateway-responses`` /
    ``AWS::ApiGateway::GatewayResponse``)."""

    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    template: str | None = None  # application/json


@dataclass
class RestApi:
    """One ``AWS::ApiGateway::RestApi`` as deployed."""

    lid: str
    operations: list[Operation] = field(default_factory=list)
    #: StageName -> stage variables, of its AWS::ApiGateway::Stage resources (and Deployments)
    stages: dict[str, dict[str, str]] = field(default_factory=dict)
    responses: dict[str, GatewayResponse] = field(default_factory=dict)
    api_key_source: str = "HEADER"
    #: what the definition declares that is not emulated, one line each
    skipped: list[str] = field(default_factory=list)
