"""Test helpers: load a function the way Lambda would (from template.yaml) and call it."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from eventflow_local.events.apigateway import api_event
from eventflow_local.events.context import LambdaContext
from eventflow_local.template.sam import SamTemplate

ROOT = Path(__file__).resolve().parent.parent
LOCAL_PARAMETERS = {
    "KafkaBootstrapServers": "127.0.0.1:9092",
    "KafkaAuth": "NONE",
    "MskClusterArn": "arn:aws:kafka:us-east-1:123456789012:cluster/local/00000000-0000-0000-0000-000000000000-1",
}


def template(**overrides: Any) -> SamTemplate:
    return SamTemplate(ROOT / "template.yaml", parameters={**LOCAL_PARAMETERS, **overrides})


@contextmanager
def patched_env(env: dict[str, str]):
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


class Function:
    """A template function loaded in its own module namespace with its own environment."""

    def __init__(
        self, tpl: SamTemplate, logical_id: str, extra_env: dict[str, str] | None = None
    ) -> None:
        self.spec = tpl.functions()[logical_id]
        self.env = {
            **self.spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            **(extra_env or {}),
        }
        name = f"fn_{logical_id}_{id(self)}"
        spec = importlib.util.spec_from_file_location(name, self.spec.module_file)
        assert spec and spec.loader
        self.module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[name] = self.module
        with patched_env(self.env):
            spec.loader.exec_module(self.module)
        self.handler = getattr(self.module, self.spec.handler_name)

    def __call__(self, event: dict[str, Any]) -> Any:
        with patched_env(self.env):
            ctx = LambdaContext(self.spec.logical_id, self.spec.timeout, self.spec.memory_size)
            return self.handler(event, ctx)


class ApiClient:
    """Calls API functions with API Gateway proxy events routed by the template."""

    def __init__(self, tpl: SamTemplate, functions: dict[str, Function]) -> None:
        from eventflow_local.apigw.plan import plan_api

        # the deployed REST APIs' methods, most specific path first, as API Gateway matches
        self.routes = sorted(
            plan_api(tpl, set(tpl.functions())).operations, key=lambda o: (*o.rank, o.method)
        )
        self.functions = functions

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method in (method.upper(), "ANY") and route.function:
                event = api_event(
                    method,
                    path,
                    resource=route.path,
                    path_parameters=match.groupdict() or None,
                    query=query,
                    headers=headers,
                    body=body,
                )
                resp = self.functions[route.function](event)
                text = resp.get("body") or ""
                return resp["statusCode"], (json.loads(text) if text else None)
        raise AssertionError(f"no route in template.yaml for {method} {path}")

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.request("POST", path, body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("DELETE", path, **kw)
