"""Small helpers over the low-level DynamoDB client: (de)serialisation and paging."""

from __future__ import annotations

from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_ser = TypeSerializer()
_deser = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(_plain(v)) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _native(_deser.deserialize(v)) for k, v in item.items()}


def value(v: Any) -> dict[str, Any]:
    return dict(_ser.serialize(_plain(v)))


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(str(v))
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _native(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _native(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_native(x) for x in v]
    if isinstance(v, set):
        return sorted(_native(x) for x in v)
    if isinstance(v, bytes | bytearray):
        return bytes(v)
    return v


def batch_get(
    client: Any,
    request: dict[str, Any],
    *,
    attempts: int,
    what: str,
    sent: Callable[[], None] = lambda: None,
) -> list[tuple[str, dict[str, Any]]]:
    """One ``BatchGetItem`` (``request`` is its ``RequestItems``), sent again with its
    ``UnprocessedKeys`` until every key is read: the items found, as ``(table, item)``. ``sent``
    is called before each request; after ``attempts`` requests, ``TransientError`` naming
    ``what``."""
    from eventflow.errors import TransientError

    found: list[tuple[str, dict[str, Any]]] = []
    for _ in range(attempts):
        sent()
        resp = client.batch_get_item(RequestItems=request)
        for table, items in resp.get("Responses", {}).items():
            found += [(table, item) for item in items]
        request = resp.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise TransientError(f"{what} stayed unprocessed after {attempts} attempts")


TOKEN_MISMATCH = "nextToken does not belong to this list; pass the value this list returned"


def check_page_token(
    token: dict[str, Any] | None,
    key_names: Collection[str],
    fixed: dict[str, str] | None = None,
    message: str = TOKEN_MISMATCH,
) -> None:
    """A page token must be a key of the index being read, with the same partition values
    (``fixed``): otherwise DynamoDB rejects it, or reads from the wrong place."""
    from eventflow.errors import InvalidRequestError

    if token and (
        set(token) != set(key_names)
        or not all(isinstance(v, str) for v in token.values())
        or any(token[k] != v for k, v in (fixed or {}).items())
    ):
        raise InvalidRequestError(message, field="nextToken")
