"""What the shared engine asks of the Kafka source (``engine.SourceAdapter``): events, item
identifiers, failure records. ``KafkaBatches`` is handed to the engine by the mapping
(``mapping.py``), which owns the consumer and the partitions; it tells the mapping which
partitions have settled records through ``on_settled``.

Lambda's Kafka event (AWS page "Using Lambda with Amazon MSK", event example): ``records`` keyed
by ``<topic>-<partition>``, each record with topic, partition, offset, timestamp, timestampType,
base64 key (absent when null) and value, headers as signed byte arrays. A partial batch response
names ``{"partition": "<topic>-<n>", "offset": N}`` (AWS page "Configuring error handling controls
for Kafka event sources"). One failure record per Kafka record given up on (``failures``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from eventflow_local.events.kafka import kafka_event
from eventflow_local.eventsources.batching import Batch, Entry, Stats
from eventflow_local.eventsources.failures import kafka_failure
from eventflow_local.eventsources.kafka.records import raw_record
from eventflow_local.runtime.invocation import InvocationResult, Invoker

if TYPE_CHECKING:
    from eventflow_local.eventsources.destinations import FailureDestination

__all__ = ["KafkaBatches"]


class KafkaBatches:
    """The Kafka mapping's side of the engine: how a batch becomes a Lambda event, which record
    a partial batch response names, and where a record given up on goes."""

    def __init__(
        self,
        *,
        function_name: str,
        function_arn: str,
        invoker: Invoker,
        bootstrap_servers: str,
        event_source_arn: str | None,
        self_managed: bool,
        destination: FailureDestination | None,
        stats: Stats,
        on_settled: Callable[[set[str]], None],
        log: Callable[[str], None],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.function_name = function_name
        self.function_arn = function_arn
        self.invoker = invoker
        self.bootstrap_servers = bootstrap_servers
        self.event_source_arn = event_source_arn
        self.self_managed = self_managed
        self.destination = destination
        self.stats = stats
        self._on_settled = on_settled
        self.log = log
        self._wall_clock = wall_clock

    def trigger(self, topic: str) -> str:
        return f"kafka:{topic}"

    def _event(self, records: list[Any]) -> dict[str, Any]:
        return kafka_event(
            map(raw_record, records),
            bootstrap_servers=self.bootstrap_servers,
            event_source_arn=self.event_source_arn,
            self_managed=self.self_managed,
        )

    def invoke(self, entries: list[Entry]) -> InvocationResult:
        event = self._event([e.rec for e in entries])
        topic = entries[0].rec.topic
        started = time.perf_counter()
        try:
            result = self.invoker.invoke(
                event, trigger=self.trigger(topic), batch_size=len(entries)
            )
        except Exception as exc:
            result = InvocationResult(
                ok=False, error={"errorType": type(exc).__name__, "errorMessage": str(exc)}
            )
        if not isinstance(result, InvocationResult):
            result = InvocationResult(
                ok=False,
                error={"errorType": "InvokerError", "errorMessage": f"invoker returned {result!r}"},
            )
        if not result.duration_ms:
            result = InvocationResult(
                ok=result.ok,
                payload=result.payload,
                error=result.error,
                duration_ms=(time.perf_counter() - started) * 1000,
                request_id=result.request_id,
            )
        return result

    def item_of(self, identifier: Any, entries: list[Entry]) -> int | None:
        if not isinstance(identifier, dict):
            return None
        offset = identifier.get("offset")
        if isinstance(offset, str) and offset.isdigit():
            offset = int(offset)
        if not isinstance(offset, int) or isinstance(offset, bool):
            return None
        lane = identifier.get("partition")
        for i, e in enumerate(entries):
            if e.lane == lane and e.rec.offset == offset:
                return i
        return None

    def settled(self, entries: list[Entry]) -> None:
        self._on_settled({e.lane for e in entries})

    def describe(self, entries: list[Entry]) -> str:
        spans: dict[str, list[int]] = {}
        for e in entries:
            spans.setdefault(e.lane, []).append(e.rec.offset)
        parts = " ".join(f"{lane}@{o[0]}-{o[-1]}" for lane, o in spans.items())
        return f"{self.trigger(entries[0].rec.topic)} {parts}" if entries else ""

    def give_up(self, entries: list[Entry], condition: str, batch: Batch) -> bool:
        stats = self.stats
        first = entries[0].rec
        where = f"{first.topic}-{first.partition} from offset {first.offset}"
        if self.destination is None:
            stats.records_dropped += len(entries)
            self.log(
                f"[esm] {self.function_name}: dropped {len(entries)} record(s) of {where} "
                f"({condition}; no OnFailure destination)"
            )
            return True
        for e in entries:
            failure = self.failure_record(
                e.rec, condition, batch.attempts, batch.last_response, batch.last_request_id
            )
            try:
                self.destination.send(failure, key=e.rec.key)
            except Exception as exc:
                self.log(
                    f"[esm] {self.function_name}: OnFailure destination {self.destination.arn} "
                    f"failed ({type(exc).__name__}: {exc}); will retry"
                )
                return False
            stats.records_to_destination += 1
        self.log(
            f"[esm] {self.function_name}: sent {len(entries)} record(s) of {where} to "
            f"{self.destination.arn} ({condition})"
        )
        return True

    def failure_record(
        self,
        rec: Any,
        condition: str,
        attempts: int,
        response: Mapping[str, Any] | None,
        request_id: str = "",
    ) -> dict[str, Any]:
        """The document Lambda sends to an OnFailure destination for one Kafka record."""
        event = self._event([rec])
        failure = kafka_failure(
            event=event,
            payload_size=len(json.dumps(event).encode()),
            offset=rec.offset,
            timestamp_ms=rec.timestamp,
            event_source_arn=self.event_source_arn,
            bootstrap_servers=self.bootstrap_servers,
            function_arn=self.function_arn,
            condition=condition,
            attempts=attempts,
            response=response,
            request_id=request_id,
            now=self._wall_clock(),
        )
        reason = getattr(rec, "reason", None)
        if reason is not None:  # a batch no client could decode: its raw bytes are the value
            failure["undecodableBatch"] = {
                "reason": reason,
                "baseOffset": rec.offset,
                "nextOffset": rec.next_offset,
            }
        return failure
