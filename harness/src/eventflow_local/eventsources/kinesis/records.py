"""The Kinesis event and failure record shapes Lambda uses.

The event follows AWS's page "Using Lambda with Kinesis Data Streams" (example event): one
``Records`` entry per stream record with ``kinesis`` {``kinesisSchemaVersion`` "1.0",
``partitionKey``, ``sequenceNumber``, ``data`` (the record's bytes, base64),
``approximateArrivalTimestamp`` (epoch seconds, a float)}, ``eventSource`` "aws:kinesis",
``eventVersion`` "1.0", ``eventID`` "<shard id>:<sequence number>", ``eventName``
"aws:kinesis:record", ``invokeIdentityArn`` (the function's execution role), ``awsRegion`` and
``eventSourceARN`` (the stream's ARN).

The OnFailure record follows "Retain discarded batch records for a Kinesis Data Streams event
source in Lambda": the DynamoDB stream record's fields under ``KinesisBatchInfo`` (shardId,
start/end sequence numbers, approximate arrival of the first and last record, batchSize,
streamArn), with the same ``requestContext`` / ``responseContext`` envelope.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from eventflow_local.eventsources.failures import ddb_stream_failure

__all__ = ["arrival_seconds", "kinesis_event", "kinesis_failure", "kinesis_record"]


def arrival_seconds(record: Mapping[str, Any]) -> float | None:
    """A GetRecords record's ``ApproximateArrivalTimestamp`` as epoch seconds."""
    value = record.get("ApproximateArrivalTimestamp")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def kinesis_record(
    shard_id: str,
    record: Mapping[str, Any],
    *,
    stream_arn: str,
    region: str,
    role_arn: str,
) -> dict[str, Any]:
    """One GetRecords record as Lambda delivers it."""
    data = record.get("Data") or b""
    if isinstance(data, str):
        data = data.encode()
    sequence = str(record["SequenceNumber"])
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": str(record.get("PartitionKey", "")),
            "sequenceNumber": sequence,
            "data": base64.b64encode(bytes(data)).decode(),
            "approximateArrivalTimestamp": round(arrival_seconds(record) or 0.0, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def kinesis_event(
    records: Iterable[tuple[str, Mapping[str, Any]]], *, stream_arn: str, region: str, role_arn: str
) -> dict[str, Any]:
    """``(shard id, record)`` pairs as the event of one invocation."""
    return {
        "Records": [
            kinesis_record(shard, rec, stream_arn=stream_arn, region=region, role_arn=role_arn)
            for shard, rec in records
        ]
    }


def kinesis_failure(**fields: Any) -> dict[str, Any]:
    """The records of one shard given up on (``ddb_stream_failure``'s fields)."""
    out = ddb_stream_failure(**fields)
    out["KinesisBatchInfo"] = out.pop("DDBStreamBatchInfo")
    return out
