"""The ``Records[]`` of an SQS event, from a ``ReceiveMessage`` answer.

Shape from "Using Lambda with Amazon SQS" (the example standard and FIFO queue events):
``messageId``, ``receiptHandle``, ``body``, ``attributes`` (``ApproximateReceiveCount``,
``SentTimestamp``, ``SenderId``, ``ApproximateFirstReceiveTimestamp``, and for a FIFO queue
``SequenceNumber``, ``MessageGroupId``, ``MessageDeduplicationId``), ``messageAttributes``
(``{name: {stringValue | binaryValue (base64), stringListValues, binaryListValues, dataType}}``),
``md5OfMessageAttributes`` when there are attributes, ``md5OfBody``, ``eventSource`` ``aws:sqs``,
``eventSourceARN``, ``awsRegion``.

Filtering ("Lambda event filtering", "Filtering events from an Amazon SQS event source"): a
pattern's ``body`` is matched against the body parsed as JSON when it is JSON, else against the
plain string; the other keys against the record's fields as above.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Mapping
from typing import Any

#: the attributes Lambda's SQS records carry (ReceiveMessage ``AttributeNames``)
RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [
        base64.b64encode(v).decode() if isinstance(v, bytes) else v
        for v in value.get("BinaryListValues", [])
    ]
    out["dataType"] = value.get("DataType", "String")
    return out


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event, from one message of ``ReceiveMessage``."""
    attributes = message.get("Attributes") or {}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: str(attributes[k]) for k in RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update(
        {
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
    )
    return record


def filter_document(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a filter pattern sees of a record: the body as JSON when it is JSON."""
    document = dict(record)
    with contextlib.suppress(TypeError, ValueError):
        document["body"] = json.loads(record["body"])
    return document


def event_size(records: list[dict[str, Any]]) -> int:
    """Bytes of the invocation payload ``{"Records": records}``."""
    return len(json.dumps({"Records": records}, separators=(",", ":")).encode())
