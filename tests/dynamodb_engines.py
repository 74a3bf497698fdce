"""Fresh DynamoDB tables on either engine for in-process tests (see ``dynamodb_engine`` in
tests/conftest.py): moto's ``mock_aws`` as released, or the worker's DynamoDB Local reached
through ``AWS_ENDPOINT_URL_DYNAMODB`` as a deployed function reaches its endpoint."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from eventflow.aws import dynamodb_client
from tests.support import patched_env


def drop_tables(client: Any, names: Iterable[str] | None = None) -> None:
    """Delete ``names`` (default: every table); DynamoDB Local deletes at once."""
    if names is None:
        names = client.list_tables()["TableNames"]
    for name in list(names):
        client.delete_table(TableName=name)


@contextmanager
def fresh_tables(
    engine: str,
    tpl: Any,
    server: Any = None,
    logical_ids: Iterable[str] | None = None,
    names: dict[str, str] | None = None,
) -> Iterator[Any]:
    """A DynamoDB client on ``engine`` with the template's tables (``logical_ids``, default all),
    named as ``names`` maps them (default: the logical id), created empty; the in-process
    functions reach the same tables (``eventflow.aws.dynamodb_client``)."""
    ids = list(logical_ids) if logical_ids is not None else list(tpl.tables())
    names = names or {}
    dynamodb_client.cache_clear()
    try:
        if engine == "moto":
            with mock_aws():
                client = boto3.client("dynamodb", region_name="us-east-1")
                for lid in ids:
                    client.create_table(**tpl.create_table_kwargs(lid, names.get(lid)))
                yield client
            return
        env = {
            "AWS_ENDPOINT_URL_DYNAMODB": server.url,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": server.url,
        }
        with patched_env(env):
            client = boto3.client("dynamodb", region_name="us-east-1")
            wanted = [tpl.create_table_kwargs(lid, names.get(lid))["TableName"] for lid in ids]
            existing = set(client.list_tables()["TableNames"])
            drop_tables(client, [n for n in wanted if n in existing])
            for lid in ids:
                client.create_table(**tpl.create_table_kwargs(lid, names.get(lid)))
            try:
                yield client
            finally:
                drop_tables(client, wanted)
    finally:
        dynamodb_client.cache_clear()
