"""Kinesis stream event sources (``Type: Kinesis``), on the DynamoDB stream poller's shards.

AWS pages: "Using Lambda with Kinesis Data Streams" (the poller reads every shard with
ListShards, GetShardIterator and GetRecords, one batch per shard at a time, in order; a parent
shard's records before its children's), "Kinesis event source mapping parameters"
(``StartingPosition`` TRIM_HORIZON, LATEST or AT_TIMESTAMP with ``StartingPositionTimestamp``;
``BatchSize`` 1-10000, default 100; ``MaximumBatchingWindowInSeconds``;
``BisectBatchOnFunctionError``; ``MaximumRecordAgeInSeconds``; ``MaximumRetryAttempts``;
``ParallelizationFactor``; ``TumblingWindowInSeconds``), "Handling errors for a Kinesis event
source" / "Retain discarded batch records ..." (retries, bisect, max age, the OnFailure record
``KinesisBatchInfo``), "Implementing partial batch responses" (``ReportBatchItemFailures`` with
``itemIdentifier`` = the record's sequence number) and "Using event filtering with a Kinesis
event source" (filters on ``data`` only, as JSON).

Everything but the stream's API and the record shapes is ``DynamoStreamEventSource``'s: the
shared engine (``eventsources/engine.py``), the checkpoint per shard under the state directory
(``checkpoints/kinesis-<Function>.<Event>.json``: a restarted harness goes on where it stopped
when the stream is still there) and the OnFailure destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.eventsources.batching import Entry
from eventflow_local.eventsources.dynamodb.mapping import DynamoStreamEventSource
from eventflow_local.eventsources.kinesis.records import (
    arrival_seconds,
    kinesis_event,
    kinesis_failure,
    kinesis_record,
)

__all__ = ["KinesisEventSource", "stream_region"]


def stream_region(stream_arn: str) -> str:
    parts = stream_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


class KinesisEventSource(DynamoStreamEventSource):
    """Lambda's event source mapping for one ``Type: Kinesis`` event of one function."""

    EVENT_TYPE = "Kinesis"
    CHECKPOINT_PREFIX = "kinesis"
    TRIGGER = "kinesis"

    @property
    def role_arn(self) -> str:
        """The function's execution role as ``invokeIdentityArn`` (SAM names it <Id>Role)."""
        return f"arn:aws:iam::{LOCAL_ACCOUNT}:role/{self.function_name}Role"

    def _seq(self, record: Mapping[str, Any]) -> str:
        return str(record["SequenceNumber"])

    def _arrival(self, record: Mapping[str, Any]) -> float | None:
        return arrival_seconds(record)

    def _iterator_request(
        self, shard_id: str, iterator_type: str, sequence: str | None = None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            # by name: an iterator asked for by ARN is refused by moto's GetRecords
            "StreamName": self.stream_arn.rsplit("/", 1)[-1],
            "ShardId": shard_id,
            "ShardIteratorType": iterator_type,
        }
        if sequence is not None:
            kwargs["StartingSequenceNumber"] = sequence
        if iterator_type == "AT_TIMESTAMP":
            kwargs["Timestamp"] = datetime.fromtimestamp(self.config.starting_timestamp or 0, UTC)
        return kwargs

    def _describe(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamARN": self.stream_arn}
        while True:
            resp = self.client.list_shards(**kwargs)
            shards.extend(resp.get("Shards", []))
            token = resp.get("NextToken")
            if not token:
                return shards
            kwargs = {"NextToken": token}

    def _view(self, shard_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return kinesis_record(
            shard_id,
            record,
            stream_arn=self.stream_arn,
            region=stream_region(self.stream_arn),
            role_arn=self.role_arn,
        )

    def _passes(self, view: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
        flt = self.config.filter
        data = record.get("Data") or b""
        return flt is None or bool(flt(data.encode() if isinstance(data, str) else bytes(data)))

    def _event(self, entries: list[Entry]) -> dict[str, Any]:
        return kinesis_event(
            ((e.lane, e.rec) for e in entries),
            stream_arn=self.stream_arn,
            region=stream_region(self.stream_arn),
            role_arn=self.role_arn,
        )

    def _failure(self, **fields: Any) -> dict[str, Any]:
        return kinesis_failure(**fields)
