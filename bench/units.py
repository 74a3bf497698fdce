"""DynamoDB capacity units of requests, from the request bodies and item sizes.

Item size follows DynamoDB's rules: the UTF-8 length of every attribute name plus the size of its
value (strings: UTF-8 length; numbers: about one byte per two significant digits plus one;
binary: raw length; booleans and nulls: 1 byte; lists and maps: 3 bytes plus 1 byte per element
plus the elements). Write units: 1 per started KB of the item written (for an update, the larger of
the item before and after); inside ``TransactWriteItems`` twice that. Read units: 1 per started
4 KB for a strongly consistent read, half for an eventually consistent one.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

KB = 1024
#: size of an item the caller cannot look up (update targets): a small item, 1 KB of units
SizeLookup = Callable[[str, Mapping[str, Any]], int | None]


def number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0").split("e")[0].split("E")[0]
    significant = len(digits.rstrip("0")) or 1
    return (significant + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB JSON (``{"S": "..."}``, ``{"N": "1"}``, ...)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return number_size(str(raw))
    if kind == "B":
        return len(base64.b64decode(raw)) if isinstance(raw, str) else len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) if isinstance(b, str) else len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB bills for ``item`` (DynamoDB JSON)."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    return float(units) if consistent else units / 2


@dataclass
class Units:
    write: float = 0.0
    read: float = 0.0

    def __iadd__(self, other: Units) -> Units:
        self.write += other.write
        self.read += other.read
        return self


def _target_size(table: str, key: Mapping[str, Any], sizes: SizeLookup) -> int:
    found = sizes(table, key)
    return found if found is not None else KB


def request_units(operation: str, body: Mapping[str, Any], sizes: SizeLookup) -> Units:
    """Capacity units one request consumed. ``sizes(table, key)`` gives the size of an existing
    item (for reads and updates), or None when unknown (counted as a 1 KB item)."""
    out = Units()
    if operation == "PutItem":
        out.write = write_units(item_size(body["Item"]))
    elif operation in ("UpdateItem", "DeleteItem"):
        out.write = write_units(_target_size(body["TableName"], body["Key"], sizes))
    elif operation == "GetItem":
        out.read = read_units(
            _target_size(body["TableName"], body["Key"], sizes), bool(body.get("ConsistentRead"))
        )
    elif operation == "BatchGetItem":
        for table, spec in body.get("RequestItems", {}).items():
            consistent = bool(spec.get("ConsistentRead"))
            for key in spec.get("Keys", []):
                out.read += read_units(_target_size(table, key, sizes), consistent)
    elif operation == "BatchWriteItem":
        for table, requests in body.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    out.write += write_units(item_size(request["PutRequest"]["Item"]))
                else:
                    key = request["DeleteRequest"]["Key"]
                    out.write += write_units(_target_size(table, key, sizes))
    elif operation == "TransactWriteItems":
        for entry in body.get("TransactItems", []):
            (kind, op), *_ = entry.items()
            if kind == "Put":
                size = item_size(op["Item"])
            else:
                size = _target_size(op["TableName"], op["Key"], sizes)
            out.write += 2 * write_units(size)
    elif operation == "TransactGetItems":
        for entry in body.get("TransactItems", []):
            op = entry["Get"]
            out.read += 2 * read_units(_target_size(op["TableName"], op["Key"], sizes), True)
    return out


def tables_of(operation: str, body: Mapping[str, Any]) -> set[str]:
    """The tables a DynamoDB request touches."""
    if "TableName" in body:
        return {str(body["TableName"])}
    if "RequestItems" in body:
        return {str(t) for t in body["RequestItems"]}
    if "TransactItems" in body:
        found = set()
        for entry in body["TransactItems"]:
            for op in entry.values():
                if isinstance(op, Mapping) and "TableName" in op:
                    found.add(str(op["TableName"]))
        return found
    return set()
