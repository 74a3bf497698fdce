"""The console's window on DynamoDB: the template's tables, item counts, items paged, one item.

Read with boto3 against the harness's DynamoDB endpoint (moto, or the user's DynamoDB Local), as
any client would. The count is a ``Scan`` with ``Select=COUNT`` (exact, and cheap at local sizes;
``DescribeTable``'s ``ItemCount`` is refreshed only every six hours on AWS:
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TableDescription.html). A page
is a ``Scan`` with ``Limit``; its ``LastEvaluatedKey`` becomes an opaque ``next`` token.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

MAX_PAGE = 100
COUNT_PAGES = 20  # past 20 Scan pages the count says "at least"

_deserializer = TypeDeserializer()
_serializer = TypeSerializer()


def plain(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON can carry it (numbers, sets, binary)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=str)
    if isinstance(value, bytes | bytearray):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3's Binary
        return {"base64": base64.b64encode(value.value).decode()}
    return value


def to_item(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def encode_token(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError as exc:
        raise ValueError("next is not a token this console gave") from exc
    if not isinstance(value, dict):
        raise ValueError("next is not a token this console gave")
    return value


class TablesView:
    """``tables``: logical id -> table name (the stack's); ``client``: a boto3 DynamoDB client."""

    def __init__(self, client: Any, tables: dict[str, str]) -> None:
        self.client = client
        self.tables = tables

    def name_of(self, table: str) -> str:
        """The table's name from its name or logical id; KeyError when it is not the template's."""
        if table in self.tables:
            return self.tables[table]
        if table in self.tables.values():
            return table
        raise KeyError(table)

    def key_names(self, name: str) -> list[str]:
        schema = self.client.describe_table(TableName=name)["Table"]["KeySchema"]
        return [k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH")]

    def count(self, name: str) -> dict[str, Any]:
        total, pages, start = 0, 0, None
        while pages < COUNT_PAGES:
            kwargs: dict[str, Any] = {"TableName": name, "Select": "COUNT"}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self.client.scan(**kwargs)
            total += int(page.get("Count", 0))
            pages += 1
            start = page.get("LastEvaluatedKey")
            if not start:
                return {"count": total, "exact": True}
        return {"count": total, "exact": False}

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for logical_id, name in self.tables.items():
            row: dict[str, Any] = {"logicalId": logical_id, "name": name}
            try:
                row.update(self.count(name))
                row["key"] = self.key_names(name)
            except Exception as exc:  # the table went away, the endpoint is down
                row["error"] = str(exc)
            out.append(row)
        return out

    def items(self, table: str, limit: int = 25, token: str | None = None) -> dict[str, Any]:
        name = self.name_of(table)
        kwargs: dict[str, Any] = {"TableName": name, "Limit": max(1, min(limit, MAX_PAGE))}
        start = decode_token(token)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self.client.scan(**kwargs)
        return {
            "table": name,
            "key": self.key_names(name),
            "items": [to_item(i) for i in page.get("Items", [])],
            "next": encode_token(page.get("LastEvaluatedKey")),
        }

    def item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """One item by its key (plain JSON values; numbers become DynamoDB numbers)."""
        name = self.name_of(table)
        typed = json.loads(json.dumps(key), parse_float=Decimal)
        raw = {k: _serializer.serialize(v) for k, v in typed.items()}
        found = self.client.get_item(TableName=name, Key=raw, ConsistentRead=True).get("Item")
        return to_item(found) if found else None
