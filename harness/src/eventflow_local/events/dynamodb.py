"""The DynamoDB Streams event (``Records`` with ``eventName``, ``dynamodb.Keys`` / ``NewImage`` /
``OldImage`` in DynamoDB JSON), as Lambda receives it from a stream mapping."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def dynamodb_stream_event(records: Iterable[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Records as returned by GetRecords, wrapped as Lambda delivers them."""
    out = []
    for rec in records:
        out.append(
            {
                "eventID": rec.get("eventID", uuid.uuid4().hex),
                "eventName": rec["eventName"],
                "eventVersion": rec.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": rec.get("awsRegion", "us-east-1"),
                "dynamodb": _jsonable(rec["dynamodb"]),
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": out}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value
