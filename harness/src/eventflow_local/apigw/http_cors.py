"""CORS of an HTTP API, answered by API Gateway itself (``CorsConfiguration`` /
``x-amazon-apigateway-cors``).

As "Configuring CORS for an HTTP API" says: with a CORS configuration, API Gateway answers a
preflight request (``OPTIONS`` with an ``Origin`` and an ``Access-Control-Request-Method`` header)
itself, even when no ``OPTIONS`` route exists and without running any authorizer, and adds the
configured CORS headers to the integration's responses to a request that carries an ``Origin``;
CORS headers the integration returns are ignored. An origin outside ``allowOrigins`` gets no CORS
headers. ``allowOrigins`` entries may be ``*`` or contain ``*`` as a wildcard
(``https://*.example.com``).

Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Headers = dict[str, list[str]]


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return tuple(s.strip() for s in str(value or "").split(",") if s.strip())


def _get(props: Mapping[str, Any], name: str) -> Any:
    """``allowOrigins`` (OpenAPI) or ``AllowOrigins`` (CloudFormation)."""
    return props.get(name, props.get(name[0].upper() + name[1:]))


@dataclass(frozen=True)
class CorsConfig:
    allow_origins: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_definition(cls, props: Mapping[str, Any]) -> CorsConfig:
        age = _get(props, "maxAge")
        return cls(
            allow_origins=_names(_get(props, "allowOrigins")),
            allow_headers=_names(_get(props, "allowHeaders")),
            allow_methods=_names(_get(props, "allowMethods")),
            expose_headers=_names(_get(props, "exposeHeaders")),
            max_age=None if age in (None, "") else int(age),
            allow_credentials=str(_get(props, "allowCredentials")).lower() == "true",
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``; None when not allowed."""
        if not origin:
            return None
        for allowed in self.allow_origins:
            if allowed == "*":
                return "*"
            pattern = ".*".join(re.escape(part) for part in allowed.split("*"))
            if re.fullmatch(pattern, origin, re.IGNORECASE):
                return origin
        return None

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        lowered = {k.lower() for k in headers}
        return method == "OPTIONS" and {"origin", "access-control-request-method"} <= lowered

    def preflight(self, headers: Mapping[str, str]) -> tuple[int, Headers, bytes]:
        """API Gateway's own answer to a preflight request."""
        out: Headers = {}
        origin = self.allowed_origin(_header(headers, "origin"))
        if origin is not None:
            out["Access-Control-Allow-Origin"] = [origin]
            if self.allow_methods:
                out["Access-Control-Allow-Methods"] = [",".join(self.allow_methods)]
            if self.allow_headers:
                out["Access-Control-Allow-Headers"] = [",".join(self.allow_headers)]
            if self.max_age is not None:
                out["Access-Control-Max-Age"] = [str(self.max_age)]
            if self.allow_credentials:
                out["Access-Control-Allow-Credentials"] = ["true"]
        return 204, out, b""

    def apply(self, request_headers: Mapping[str, str], response: Headers) -> Headers:
        """The integration's response headers with the configured CORS headers in place of its own."""
        out = {k: v for k, v in response.items() if not k.lower().startswith("access-control-")}
        origin = self.allowed_origin(_header(request_headers, "origin"))
        if origin is not None:
            out["Access-Control-Allow-Origin"] = [origin]
            if self.expose_headers:
                out["Access-Control-Expose-Headers"] = [",".join(self.expose_headers)]
            if self.allow_credentials:
                out["Access-Control-Allow-Credentials"] = ["true"]
        return out


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)
