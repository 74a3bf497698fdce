"""DynamoDB stream event sources (``Type: DynamoDB`` events), over the shared engine.

One ``DynamoStreamEventSource`` per event polls the table's stream as Lambda's event source
mapping does (AWS page "Using AWS Lambda with Amazon DynamoDB": DescribeStream,
GetShardIterator, GetRecords; a parent shard's records before its children's; new shards picked
up as they appear) and invokes the function with Lambda's DynamoDB stream event, one shard per
batch. Configuration, filters (on the record as Lambda delivers it: ``eventName``,
``dynamodb.Keys``/``NewImage``/``OldImage`` in DynamoDB JSON), retries, bisect, max record age
and partial batch responses (``itemIdentifier`` = the record's SequenceNumber) are the shared
core's; the failure record is ``DDBStreamBatchInfo``. A failing shard waits for its retry while
the other shards go on: nothing blocks the poller.

The position of every shard (the last sequence number settled) is kept in a checkpoint file
under the state directory, so a restarted harness goes on where it stopped, as a mapping resumes
from its checkpoint on AWS whatever its ``StartingPosition``; with DynamoDB Local keeping its
tables (``--dynamodb local``) the stream, its ARN and its records survive the restart too. A stream
keeps records 24 hours (``TrimmedDataAccessException`` past that, AWS "DynamoDB Streams" API
reference): a checkpoint older than that goes on from the oldest record still kept.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.aws import function_arn as arn_of_function
from eventflow_local.events.dynamodb import dynamodb_stream_event
from eventflow_local.eventsources.batching import Batch, EngineOptions, Entry
from eventflow_local.eventsources.config import EsmConfigError, parse_config
from eventflow_local.eventsources.engine import Engine
from eventflow_local.eventsources.failures import ddb_stream_failure
from eventflow_local.runtime.invocation import InvocationResult, Invoker
from eventflow_local.template.specs import EventSpec

__all__ = ["Checkpoint", "DynamoStreamEventSource"]

Log = Callable[[str], None]
READ_AHEAD = 10_000  # records buffered per shard before its reads pause


class Checkpoint:
    """Last settled sequence number per shard of one stream, in a small JSON file."""

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
        body = {
            "streamArn": self.stream_arn,
            "shards": self.positions,
            "finished": sorted(self.finished),
        }
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, self.path)


def _seq(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _arrival(record: Mapping[str, Any]) -> float | None:
    value = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(value, datetime):
        return value.astimezone(UTC).timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


class _Shard:
    def __init__(self, shard_id: str, parent: str | None) -> None:
        self.shard_id = shard_id
        self.parent = parent
        self.iterator: str | None = None
        self.last_fetched: str | None = None
        self.closed = False


class DynamoStreamEventSource:
    """Lambda's event source mapping for one ``Type: DynamoDB`` event of one function.

    The shard bookkeeping (lineage, checkpoints, the engine) is the same for a Kinesis stream:
    ``eventsources/kinesis/mapping.py`` overrides the hooks below (the stream's API, the record's
    sequence number and arrival, the filter, the event, the failure record)."""

    EVENT_TYPE = "DynamoDB"
    CHECKPOINT_PREFIX = "dynamodb"
    TRIGGER = "dynamodb"

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
        options: EngineOptions | None = None,
    ) -> None:
        if event.type != self.EVENT_TYPE:
            raise EsmConfigError(
                f"{function_name}.{event.name}", "Type", f"not a {self.EVENT_TYPE} event"
            )
        self.config = parse_config(function_name, event.name, event.type, event.properties)
        self.function_name = function_name
        self.event = event
        self.invoker = invoker
        self.client = streams_client
        self.stream_arn = stream_arn
        self.destination = destination
        self.function_arn = function_arn or arn_of_function(function_name)
        self.log = log
        self.poll_interval = poll_interval
        self.name = f"{function_name}.{event.name}"
        self.checkpoint = Checkpoint(
            state_dir / "checkpoints" / f"{self.CHECKPOINT_PREFIX}-{self.name}.json", stream_arn
        )
        self.engine = Engine(
            self.config,
            self,
            cross_lane=False,
            envelope=200 + len(stream_arn),
            options=options or EngineOptions(retry_initial_delay=0.5, retry_max_delay=10.0),
            log=log,
            log_invocations=False,
            tag="[stream]",
        )
        self.stats = self.engine.stats
        self._shards: dict[str, _Shard] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def delivered(self) -> int:
        return self.stats.records_succeeded

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
                wait = self.engine.wait_time(self.engine.options.clock(), self.poll_interval)
                self._stop.wait(max(0.005, wait))

    def run_until_idle(self, timeout: float = 10.0) -> int:
        """Poll until nothing is buffered or waits (tests, one-shot runs); returns records settled."""
        before = self.stats.records_succeeded + self.stats.records_to_destination
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            handled = self.poll_once()
            if not handled and self.engine.idle():
                break
            if not handled:
                time.sleep(0.01)
        return self.stats.records_succeeded + self.stats.records_to_destination - before

    # ------------------------------------------------------------------ hooks of the stream type
    def _seq(self, record: Mapping[str, Any]) -> str:
        return _seq(record)

    def _arrival(self, record: Mapping[str, Any]) -> float | None:
        return _arrival(record)

    def _iterator_request(
        self, shard_id: str, iterator_type: str, sequence: str | None = None
    ) -> dict[str, Any]:
        """GetShardIterator's arguments (``sequence``: AFTER_SEQUENCE_NUMBER)."""
        kwargs: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": iterator_type,
        }
        if sequence is not None:
            kwargs["SequenceNumber"] = sequence
        return kwargs

    def _view(self, shard_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record as Lambda delivers it (what the filter sees and the payload counts)."""
        return dynamodb_stream_event([record], self.stream_arn)["Records"][0]

    def _passes(self, view: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
        flt = self.config.filter
        return flt is None or bool(flt(view))

    def _event(self, entries: list[Entry]) -> dict[str, Any]:
        return dynamodb_stream_event([e.rec for e in entries], self.stream_arn)

    def _failure(self, **fields: Any) -> dict[str, Any]:
        return ddb_stream_failure(**fields)

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
        if position:
            try:
                return str(
                    self.client.get_shard_iterator(
                        **self._iterator_request(shard.shard_id, "AFTER_SEQUENCE_NUMBER", position)
                    )["ShardIterator"]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TrimmedDataAccessException":
                    raise
            # the records after the checkpoint are gone (a stream keeps 24 hours; the harness
            # was stopped longer): go on from the oldest record the shard still has
            self.log(
                f"[stream] {self.name}: {shard.shard_id}: the records after the checkpoint were "
                "trimmed (older than 24 hours); reading from the oldest record kept"
            )
            kwargs = self._iterator_request(shard.shard_id, "TRIM_HORIZON")
        elif shard.parent is not None and shard.parent in self.checkpoint.finished:
            # a child of a shard read to its end
            kwargs = self._iterator_request(shard.shard_id, "TRIM_HORIZON")
        else:
            kwargs = self._iterator_request(shard.shard_id, self.config.starting_position)
        return str(self.client.get_shard_iterator(**kwargs)["ShardIterator"])

    def poll_once(self) -> int:
        """Read the shards, run the batches that are due; returns the invocations made."""
        with self._lock:
            described = self._describe()
            known = {s["ShardId"] for s in described}
            for desc in described:
                if desc["ShardId"] not in self._shards:
                    self._shards[desc["ShardId"]] = _Shard(
                        desc["ShardId"], desc.get("ParentShardId")
                    )
            finished = self.checkpoint.finished
            for shard in list(self._shards.values()):
                if self._stop.is_set():
                    break
                if shard.shard_id in finished:
                    continue
                if shard.parent in known and shard.parent not in finished:
                    continue  # a parent's records come first
                lane = self.engine.lane(shard.shard_id)
                if len(lane.pending) < READ_AHEAD:
                    self._fetch(shard)
            before = self.stats.invocations
            self.engine.step(self.engine.options.clock())
            for shard in self._shards.values():
                idle = self.engine.unsettled(shard.shard_id) is None
                if shard.closed and shard.shard_id not in finished and idle:
                    finished.add(shard.shard_id)
                    self.checkpoint.save()
            return self.stats.invocations - before

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
        if not records:
            return
        shard.last_fetched = self._seq(records[-1])
        now = self.engine.options.clock()
        for rec in records:
            view = self._view(shard.shard_id, rec)
            if not self._passes(view, rec):
                self.stats.records_filtered += 1
                continue
            arrival = self._arrival(rec)
            size = len(json.dumps(view)) + 2
            self.engine.add(Entry(shard.shard_id, rec, size, (arrival or 0) * 1000), now)
        if self.engine.unsettled(shard.shard_id) is None:  # all filtered out: handled
            self._advance(shard.shard_id, shard.last_fetched)

    def _advance(self, shard_id: str, sequence: str) -> None:
        current = self.checkpoint.positions.get(shard_id)
        if current is None or int(sequence) > int(current):
            self.checkpoint.positions[shard_id] = sequence
            self.checkpoint.save()

    # ------------------------------------------------------------------ the engine's source
    def invoke(self, entries: list[Entry]) -> InvocationResult:
        event = self._event(entries)
        started = time.perf_counter()
        try:
            result = self.invoker.invoke(event, trigger=self.TRIGGER, batch_size=len(entries))
        except Exception as exc:
            return InvocationResult(
                ok=False,
                error={"errorType": type(exc).__name__, "errorMessage": str(exc)},
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        return result

    def item_of(self, identifier: Any, entries: list[Entry]) -> int | None:
        for i, e in enumerate(entries):
            if self._seq(e.rec) == str(identifier):
                return i
        return None

    def settled(self, entries: list[Entry]) -> None:
        shard_id = entries[0].lane
        first = self.engine.unsettled(shard_id)
        if first is None:
            shard = self._shards.get(shard_id)
            last = (
                shard.last_fetched if shard and shard.last_fetched else self._seq(entries[-1].rec)
            )
            self._advance(shard_id, last)
            return
        limit = int(self._seq(first.rec))
        done = [int(self._seq(e.rec)) for e in entries if int(self._seq(e.rec)) < limit]
        if done:
            self._advance(shard_id, str(max(done)))

    def describe(self, entries: list[Entry]) -> str:
        if not entries:
            return ""
        return f"{self.TRIGGER} shard={entries[0].lane} sequence={self._seq(entries[0].rec)}-{self._seq(entries[-1].rec)}"

    def give_up(self, entries: list[Entry], condition: str, batch: Batch) -> bool:
        records = [e.rec for e in entries]
        failure = self._failure(
            shard_id=entries[0].lane,
            first_sequence=self._seq(records[0]),
            last_sequence=self._seq(records[-1]),
            first_arrival=self._arrival(records[0]),
            last_arrival=self._arrival(records[-1]),
            batch_size=len(records),
            stream_arn=self.stream_arn,
            function_arn=self.function_arn,
            condition=condition,
            attempts=batch.attempts,
            response=batch.last_response,
            request_id=batch.last_request_id,
            now=time.time(),
        )
        where = self.destination.arn if self.destination is not None else "nowhere (no OnFailure)"
        if self.destination is not None:
            try:
                self.destination.send(failure)
            except Exception as exc:
                self.log(f"{self.name}: OnFailure destination failed ({exc!r}); will retry")
                return False
            self.stats.records_to_destination += len(records)
        else:
            self.stats.records_dropped += len(records)
        self.log(
            f"{self.name}: {len(records)} record(s) given up ({condition}); failure record -> {where}"
        )
        return True
