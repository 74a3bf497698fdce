"""Functional tests: handlers in-process, real-shaped events, moto DynamoDB built from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from eventflow.aws import dynamodb_client
from tests.support import ApiClient, Function, template


@pytest.fixture
def tpl():
    return template()


@pytest.fixture
def aws(tpl) -> Iterator[Any]:
    """moto DynamoDB with every table of the template."""
    with mock_aws():
        dynamodb_client.cache_clear()
        client = boto3.client("dynamodb", region_name="us-east-1")
        for logical_id in tpl.tables():
            client.create_table(**tpl.create_table_kwargs(logical_id))
        yield client
        dynamodb_client.cache_clear()


@pytest.fixture
def functions(tpl, aws) -> dict[str, Function]:
    return {lid: Function(tpl, lid) for lid in tpl.functions()}


@pytest.fixture
def api(tpl, functions) -> ApiClient:
    return ApiClient(tpl, functions)
