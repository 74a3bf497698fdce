"""DynamoDB stream event sources (``Type: DynamoDB`` events): the outbox relay's trigger.

One ``DynamoStreamEventSource`` per event polls the table's stream the way Lambda's event source
mapping does (DescribeStream, GetShardIterator, GetRecords; parent shards before children; new
shards picked up as they appear) and invokes the function with Lambda's DynamoDB stream event.

Honoured: BatchSize, MaximumBatchingWindowInSeconds, StartingPosition (TRIM_HORIZON | LATEST),
FilterCriteria (JSON patterns on the whole record), BisectBatchOnFunctionError,
MaximumRetryAttempts (-1 = forever), MaximumRecordAgeInSeconds, FunctionResponseTypes
ReportBatchItemFailures (itemIdentifier = SequenceNumber), DestinationConfig OnFailure.

A failing batch is retried with back-off and the shard waits: nothing is skipped unless retries
run out (then the batch goes to the OnFailure destination, as on AWS). The position of every shard
(the last sequence number handled) is kept in a checkpoint file under the state directory, so a
restarted harness goes on where it stopped instead of republishing the stream.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .events import dynamodb_stream_event
from .invoke import InvocationResult, Invoker
from .template import EventSpec

Log = Callable[[str], None]
MAX_BACKOFF_S = 10.0


# --------------------------------------------------------------------------------- filtering
def _match_value(rule: Any, value: Any, present: bool) -> bool:
    """One element of a pattern's list against the record's value (EventBridge-style rules)."""
    if isinstance(rule, dict):
        if "exists" in rule:
            return bool(rule["exists"]) == present
        if not present:
            return False
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        if "suffix" in rule:
            return isinstance(value, str) and value.endswith(rule["suffix"])
        if "equals-ignore-case" in rule:
            return (
                isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
            )
        if "anything-but" in rule:
            but = rule["anything-but"]
            but = but if isinstance(but, list) else [but]
            return value not in but
        if "numeric" in rule:
            if isinstance(value, bool) or not isinstance(value, int | float):
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    return False
            ops = rule["numeric"]
            checks = {
                "=": float.__eq__,
                "<": float.__lt__,
                "<=": float.__le__,
                ">": float.__gt__,
                ">=": float.__ge__,
            }
            return all(
                checks[op](float(value), float(arg))
                for op, arg in zip(ops[::2], ops[1::2], strict=True)
            )
        return False
    return present and bool(rule == value)


def matches_pattern(pattern: Mapping[str, Any], document: Any) -> bool:
    """True if ``document`` matches a Lambda event filter ``pattern`` (all keys must match; a list
    means "any of"; a nested object descends into the document)."""
    if not isinstance(document, Mapping):
        return False
    for key, rule in pattern.items():
        present = key in document
        value = document.get(key)
        if isinstance(rule, Mapping):
            if not present or not matches_pattern(rule, value):
                return False
            continue
        rules = rule if isinstance(rule, list) else [rule]
        values = value if isinstance(value, list) else [value]
        if not any(_match_value(r, v, present) for r in rules for v in values):
            return False
    return True


def parse_filters(criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    patterns = []
    for entry in (criteria or {}).get("Filters", []) or []:
        raw = entry.get("Pattern", "{}")
        patterns.append(json.loads(raw) if isinstance(raw, str) else dict(raw))
    return patterns


def passes(patterns: Sequence[Mapping[str, Any]], document: Any) -> bool:
    """No filters: everything passes; otherwise any one filter must match."""
    return not patterns or any(matches_pattern(p, document) for p in patterns)


# --------------------------------------------------------------------------------- checkpoints
class Checkpoint:
    """Last handled sequence number per shard of one stream, in a small JSON file."""

    def __init__(self, path: Path, stream_arn: str) -> None:
        self.path = path
        self.stream_arn = stream_arn
        self.positions: dict[str, str] = {}
        self.finished: set[str] = set()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        if data.get("streamArn") == stream_arn:  # another stream (table re-created): start afresh
            self.positions = dict(data.get("shards", {}))
            self.finished = set(data.get("finished", []))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "streamArn": self.stream_arn,
                    "shards": self.positions,
                    "finished": sorted(self.finished),
                },
                indent=1,
            )
        )
        os.replace(tmp, self.path)


def _seq(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _arrival(record: Mapping[str, Any]) -> datetime | None:
    value = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if value else None


class _Shard:
    def __init__(self, shard_id: str, parent: str | None) -> None:
        self.shard_id = shard_id
        self.parent = parent
        self.iterator: str | None = None
        self.pending: list[dict[str, Any]] = []
        self.first_pending_at = 0.0
        self.last_fetched: str | None = None
        self.closed = False


# --------------------------------------------------------------------------------- the mapping
class DynamoStreamEventSource:
    """Lambda's event source mapping for one ``Type: DynamoDB`` event of one function."""

    def __init__(
        self,
        function_name: str,
        event: EventSpec,
        invoker: Invoker,
        streams_client: Any,
        *,
        stream_arn: str,
        state_dir: Path,
        destination: Any = None,
        function_arn: str | None = None,
        log: Log = print,
        poll_interval: float = 0.25,
    ) -> None:
        props = event.properties
        self.function_name = function_name
        self.event = event
        self.invoker = invoker
        self.client = streams_client
        self.stream_arn = stream_arn
        self.destination = destination
        self.function_arn = (
            function_arn or f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.log = log
        self.poll_interval = poll_interval
        self.batch_size = int(props.get("BatchSize", 100))
        self.window_s = float(props.get("MaximumBatchingWindowInSeconds", 0))
        self.starting_position = str(props.get("StartingPosition", "TRIM_HORIZON"))
        self.filters = parse_filters(props.get("FilterCriteria"))
        self.bisect = bool(props.get("BisectBatchOnFunctionError", False))
        self.max_retries = int(props.get("MaximumRetryAttempts", -1))
        self.max_age_s = int(props.get("MaximumRecordAgeInSeconds", -1))
        self.report_item_failures = "ReportBatchItemFailures" in (
            props.get("FunctionResponseTypes") or []
        )
        self.name = f"{function_name}.{event.name}"
        self.checkpoint = Checkpoint(
            state_dir / "checkpoints" / f"dynamodb-{self.name}.json", stream_arn
        )
        self._shards: dict[str, _Shard] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"stream-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except Exception as exc:  # the emulator went away or hiccuped: report and go on
                self.log(f"{self.name}: stream poll failed: {exc!r}")
                busy = 0
            if not busy:
                self._stop.wait(self.poll_interval)

    def run_until_idle(self, timeout: float = 10.0) -> int:
        """Poll until a poll finds nothing (for tests and one-shot runs); returns records handled."""
        total = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            handled = self.poll_once()
            total += handled
            if not handled and not any(s.pending for s in self._shards.values()):
                break
        return total

    # ------------------------------------------------------------------ polling
    def _describe(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = self.client.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(desc.get("Shards", []))
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def _iterator(self, shard: _Shard) -> str:
        position = self.checkpoint.positions.get(shard.shard_id)
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if position:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=position)
        elif shard.parent is not None and shard.parent in self.checkpoint.finished:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"  # a child of a shard we read to its end
        else:
            kwargs["ShardIteratorType"] = (
                "LATEST" if self.starting_position == "LATEST" else "TRIM_HORIZON"
            )
        return str(self.client.get_shard_iterator(**kwargs)["ShardIterator"])

    def poll_once(self) -> int:
        """Fetch what the shards hold and deliver the batches that are due; returns records handled."""
        described = self._describe()
        known = {s["ShardId"] for s in described}
        for desc in described:
            if desc["ShardId"] not in self._shards:
                self._shards[desc["ShardId"]] = _Shard(desc["ShardId"], desc.get("ParentShardId"))
        handled = 0
        for shard in list(self._shards.values()):
            if self._stop.is_set():
                break
            if shard.shard_id in self.checkpoint.finished:
                continue
            if shard.parent in known and shard.parent not in self.checkpoint.finished:
                continue  # a parent's records come first
            handled += self._poll_shard(shard)
        return handled

    def _fetch(self, shard: _Shard) -> None:
        if shard.closed:
            return
        if shard.iterator is None:
            shard.iterator = self._iterator(shard)
        try:
            resp = self.client.get_records(ShardIterator=shard.iterator, Limit=1000)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                shard.iterator = None  # ask again from the checkpoint
                return
            raise
        shard.iterator = resp.get("NextShardIterator")
        shard.closed = shard.iterator is None
        records = resp.get("Records", [])
        if records:
            shard.last_fetched = _seq(records[-1])
            wanted = [r for r in records if passes(self.filters, self._filter_view(r))]
            if wanted and not shard.pending:
                shard.first_pending_at = time.monotonic()
            shard.pending.extend(wanted)
            if not shard.pending:  # all filtered out: they count as handled
                self._advance(shard, shard.last_fetched)

    @staticmethod
    def _filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
        return dynamodb_stream_event([record], "")["Records"][0]

    def _poll_shard(self, shard: _Shard) -> int:
        self._fetch(shard)
        handled = 0
        while shard.pending and not self._stop.is_set():
            due = (
                len(shard.pending) >= self.batch_size
                or self.window_s <= 0
                or time.monotonic() - shard.first_pending_at >= self.window_s
            )
            if not due:
                break
            batch = shard.pending[: self.batch_size]
            if not self._deliver(shard, batch):
                return handled  # stopping: the batch stays pending, the checkpoint where it was
            del shard.pending[: len(batch)]
            shard.first_pending_at = time.monotonic()
            handled += len(batch)
            self._advance(
                shard, _seq(batch[-1]) if shard.pending else (shard.last_fetched or _seq(batch[-1]))
            )
        if shard.closed and not shard.pending:
            self.checkpoint.finished.add(shard.shard_id)
            self.checkpoint.save()
        return handled

    def _advance(self, shard: _Shard, sequence: str) -> None:
        self.checkpoint.positions[shard.shard_id] = sequence
        self.checkpoint.save()

    # ------------------------------------------------------------------ delivery
    def _deliver(self, shard: _Shard, batch: list[dict[str, Any]]) -> bool:
        """Invoke until every record of ``batch`` succeeded or went to the failure destination.

        Returns False only when the harness is stopping.
        """
        work: list[tuple[list[dict[str, Any]], int]] = [(batch, 0)]
        while work:
            part, attempts = work.pop(0)
            while True:
                if self._stop.is_set():
                    return False
                expired = self._expired(part)
                if expired:
                    self._send_failure(shard, expired, attempts, "RecordAgeExceeded", None)
                    part = part[len(expired) :]
                    if not part:
                        break
                attempts += 1
                result = self.invoker.invoke(
                    dynamodb_stream_event(part, self.stream_arn),
                    trigger="dynamodb",
                    batch_size=len(part),
                )
                failed_at = self._first_failure(result, part)
                if failed_at is None:
                    self.delivered += len(part)
                    break
                if failed_at > 0:  # partial success: the records before the failure are done
                    self.delivered += failed_at
                    self._advance(shard, _seq(part[failed_at - 1]))
                    part = part[failed_at:]
                if self.bisect and len(part) > 1:
                    mid = len(part) // 2
                    work[0:0] = [(part[:mid], attempts), (part[mid:], attempts)]
                    self.log(f"{self.name}: batch of {len(part)} failed; retrying it in halves")
                    break
                if 0 <= self.max_retries < attempts:
                    self._send_failure(shard, part, attempts, "RetryAttemptsExhausted", result)
                    break
                delay = min(MAX_BACKOFF_S, 0.5 * 2 ** min(attempts - 1, 6))
                self.log(
                    f"{self.name}: batch of {len(part)} failed (attempt {attempts}); retrying in {delay:.1f}s"
                )
                if self._stop.wait(delay):
                    return False
        return True

    def _expired(self, part: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.max_age_s < 0:
            return []
        now = datetime.now(UTC)
        old = []
        for record in part:
            arrival = _arrival(record)
            if arrival is None or (now - arrival).total_seconds() <= self.max_age_s:
                break
            old.append(record)
        return old

    def _first_failure(self, result: InvocationResult, part: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or None when the whole batch succeeded."""
        if not result.ok:
            return 0
        if not self.report_item_failures or not isinstance(result.payload, dict):
            return None
        failures = result.payload.get("batchItemFailures") or []
        if not failures:
            return None
        sequences = [_seq(r) for r in part]
        indexes = []
        for failure in failures:
            ident = (failure or {}).get("itemIdentifier") if isinstance(failure, dict) else None
            if ident in sequences:
                indexes.append(sequences.index(ident))
            else:  # an identifier Lambda cannot map fails the whole batch
                return 0
        return min(indexes)

    def _send_failure(
        self,
        shard: _Shard,
        part: list[dict[str, Any]],
        attempts: int,
        condition: str,
        result: InvocationResult | None,
    ) -> None:
        record = {
            "requestContext": {
                "requestId": result.request_id if result else str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": _iso(datetime.now(UTC)),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": _seq(part[0]),
                "endSequenceNumber": _seq(part[-1]),
                "approximateArrivalOfFirstRecord": _iso(_arrival(part[0])),
                "approximateArrivalOfLastRecord": _iso(_arrival(part[-1])),
                "batchSize": len(part),
                "streamArn": self.stream_arn,
            },
        }
        where = self.destination.arn if self.destination is not None else "nowhere (no OnFailure)"
        self.log(
            f"{self.name}: {len(part)} record(s) given up ({condition}); failure record -> {where}"
        )
        if self.destination is not None:
            self.destination.send(record)
