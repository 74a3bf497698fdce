"""Functional tests: handlers in-process, real-shaped events, DynamoDB tables built from
template.yaml on each engine (moto's ``mock_aws``, then the worker's DynamoDB Local)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dynamodb_engines import fresh_tables
from tests.support import ApiClient, Function, template


@pytest.fixture
def tpl():
    return template()


@pytest.fixture
def aws(tpl, dynamodb_engine: str, dynamodb_server: Any) -> Iterator[Any]:
    """Every table of the template, empty, on the module's engine (moto, then DynamoDB Local)."""
    with fresh_tables(dynamodb_engine, tpl, dynamodb_server) as client:
        yield client


@pytest.fixture
def functions(tpl, aws) -> dict[str, Function]:
    return {lid: Function(tpl, lid) for lid in tpl.functions()}


@pytest.fixture
def api(tpl, functions) -> ApiClient:
    return ApiClient(tpl, functions)
