"""The records Lambda sends to an OnFailure destination, one builder per source.

Shapes from AWS's pages "Capturing discarded batches for Amazon MSK and self-managed Apache Kafka
event sources" (``KafkaBatchInfo``: batchSize, eventSourceArn, bootstrapServers, payloadSize,
recordInfo {offset, timestamp}; the record's ``payload`` for Kafka and S3 destinations) and
"Capturing discarded batches for a DynamoDB stream source" (``DDBStreamBatchInfo``: shardId,
startSequenceNumber, endSequenceNumber, approximateArrivalOfFirstRecord,
approximateArrivalOfLastRecord, batchSize, streamArn). Both carry ``requestContext`` (requestId,
functionArn, condition, approximateInvokeCount), ``responseContext``, ``version`` and
``timestamp``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["ddb_stream_failure", "iso_ms", "kafka_failure"]


def iso_ms(epoch_seconds: float) -> str:
    return (
        datetime.fromtimestamp(epoch_seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _envelope(
    *,
    function_arn: str,
    condition: str,
    attempts: int,
    response: Mapping[str, Any] | None,
    request_id: str,
    now: float,
) -> dict[str, Any]:
    return {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": dict(response) if response is not None else None,
        "version": "1.0",
        "timestamp": iso_ms(now),
    }


def kafka_failure(
    *,
    event: dict[str, Any],
    payload_size: int,
    offset: int,
    timestamp_ms: float,
    event_source_arn: str | None,
    bootstrap_servers: str,
    function_arn: str,
    condition: str,
    attempts: int,
    response: Mapping[str, Any] | None,
    request_id: str,
    now: float,
) -> dict[str, Any]:
    """One Kafka record given up on, with the one-record event as ``payload``."""
    info: dict[str, Any] = {"batchSize": 1}
    if event_source_arn:
        info["eventSourceArn"] = event_source_arn
    info["bootstrapServers"] = bootstrap_servers
    info["payloadSize"] = payload_size
    ts = timestamp_ms if timestamp_ms and timestamp_ms > 0 else now * 1000
    info["recordInfo"] = {"offset": str(offset), "timestamp": iso_ms(ts / 1000)}
    out = _envelope(
        function_arn=function_arn,
        condition=condition,
        attempts=attempts,
        response=response,
        request_id=request_id,
        now=now,
    )
    out["KafkaBatchInfo"] = info
    out["payload"] = event
    return out


def ddb_stream_failure(
    *,
    shard_id: str,
    first_sequence: str,
    last_sequence: str,
    first_arrival: float | None,
    last_arrival: float | None,
    batch_size: int,
    stream_arn: str,
    function_arn: str,
    condition: str,
    attempts: int,
    response: Mapping[str, Any] | None,
    request_id: str,
    now: float,
) -> dict[str, Any]:
    """The records of one shard given up on: their range, not their content."""
    out = _envelope(
        function_arn=function_arn,
        condition=condition,
        attempts=attempts,
        response=response,
        request_id=request_id,
        now=now,
    )
    out["DDBStreamBatchInfo"] = {
        "shardId": shard_id,
        "startSequenceNumber": first_sequence,
        "endSequenceNumber": last_sequence,
        "approximateArrivalOfFirstRecord": iso_ms(first_arrival) if first_arrival else None,
        "approximateArrivalOfLastRecord": iso_ms(last_arrival) if last_arrival else None,
        "batchSize": batch_size,
        "streamArn": stream_arn,
    }
    return out
