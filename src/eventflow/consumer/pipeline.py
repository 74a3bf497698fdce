"""The one pipeline both Kafka consumers run: parse -> dead-letter -> in-batch dedupe -> apply ->
partial batch response.

A consumer (``eventflow.fraud.usecases.counter.FraudCounter``, ``eventflow.quakes.usecases.ingest.
QuakeIngestor``) says how to parse a record, what identifies an event, and how to apply a batch
of new events; everything else is here, once:

1. **parse**: each record becomes the consumer's event or a dead letter (MALFORMED / SCHEMA, with
   the raw record); dead letters are written in the background while the batch goes on.
2. **in-batch dedupe**: the same event id twice in one batch is applied once.
3. **apply**: the consumer's use case; it reports which records it applied, which were
   duplicates (already applied by an earlier delivery), which are permanent failures (dead
   letters, e.g. an unknown account) and which must be retried (transient).
4. **respond**: the dead letters are awaited, each one logged; metrics; a batch where nothing at
   all could be done raises (Lambda retries the whole batch), otherwise the partial batch
   response names, per partition, the first offset to deliver again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from eventflow.consumer.concurrency import submit
from eventflow.consumer.deadletter import DeadLetter
from eventflow.consumer.records import dead_letter, log_dead_letters
from eventflow.errors import TransientError
from eventflow.kafka.events import KafkaRecord, batch_item_failures, parse_kafka_event
from eventflow.observability import logger, metrics

E = TypeVar("E")
E_co = TypeVar("E_co", covariant=True)


@dataclass(frozen=True)
class Delivery(Generic[E]):
    """One parsed record: the consumer's event and where it came from."""

    event: E
    record: KafkaRecord


@dataclass
class Applied:
    """What ``apply`` did with a batch. Every delivery it was given lands in exactly one list."""

    applied: list[KafkaRecord] = field(default_factory=list)
    duplicates: list[KafkaRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    retry: list[KafkaRecord] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    #: log lines worth one line each (an account blocked, an alert raised): (message, extra)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: consumer-specific metrics, name -> value
    counters: dict[str, int] = field(default_factory=dict)

    def merge(self, other: Applied) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.dead_letters += other.dead_letters
        self.retry += other.retry
        self.reasons += other.reasons
        self.notes += other.notes
        for k, v in other.counters.items():
            self.counters[k] = self.counters.get(k, 0) + v


Park = Callable[[Sequence[DeadLetter]], None]


class Consumer(Protocol[E]):
    """What a consumer brings to the pipeline."""

    def parse(self, record: KafkaRecord) -> E:
        """The record's event; ``ValueError`` naming what is wrong (``schema: ...``) otherwise."""
        ...

    def event_id(self, event: E) -> str: ...

    def apply(self, deliveries: list[Delivery[E]], park: Park) -> Applied:
        """Apply new events; ``park`` writes permanent failures (in the background)."""
        ...


class DeadLetterSink(Protocol):
    def park(self, letters: Sequence[DeadLetter]) -> None: ...


@dataclass(frozen=True)
class MetricNames:
    applied: str
    duplicates: str
    dead_letters: str


@dataclass
class BatchResult:
    outcome: Applied
    parked: list[DeadLetter]

    @property
    def made_progress(self) -> bool:
        o = self.outcome
        return bool(o.applied or o.duplicates or o.dead_letters)


class Pipeline(Generic[E]):
    def __init__(self, consumer: Consumer[E], dead_letters: DeadLetterSink, names: MetricNames):
        self.consumer = consumer
        self.dead_letters = dead_letters
        self.names = names

    def process(self, records: Sequence[KafkaRecord]) -> BatchResult:
        """Steps 1-3; dead letters are written (and awaited) before this returns."""
        outcome = Applied()
        parking: list[Future[None]] = []
        parked: list[DeadLetter] = []

        def park(letters: Sequence[DeadLetter]) -> None:
            if letters:
                parked.extend(letters)
                batch = list(letters)
                parking.append(submit(lambda: self.dead_letters.park(batch)))

        deliveries: list[Delivery[E]] = []
        seen: set[str] = set()
        malformed: list[DeadLetter] = []
        for rec in records:
            try:
                event = self.consumer.parse(rec)
            except ValueError as exc:
                malformed.append(dead_letter(rec, exc))
                continue
            key = self.consumer.event_id(event)
            if key in seen:  # the same event twice in one batch
                outcome.duplicates.append(rec)
                continue
            seen.add(key)
            deliveries.append(Delivery(event, rec))
        outcome.dead_letters += malformed
        park(malformed)

        if deliveries:
            try:
                outcome.merge(self.consumer.apply(deliveries, park))
            except TransientError as exc:
                outcome.retry += [d.record for d in deliveries]
                outcome.reasons.append(str(exc))
        for f in parking:
            f.result()  # TransientError: the whole batch again (what was applied is deduped)
        if outcome.retry and not outcome.reasons:
            outcome.reasons.append("items kept changing during the batch")
        return BatchResult(outcome, parked)

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """A Lambda Kafka event in, the partial batch response out (step 4)."""
        batch = parse_kafka_event(event)
        result = self.process(batch.records)
        o = result.outcome
        log_dead_letters(result.parked)
        for message, extra in o.notes:
            logger.info(message, extra=extra)
        metrics.add_metric(name=self.names.applied, unit="Count", value=len(o.applied))
        metrics.add_metric(name=self.names.duplicates, unit="Count", value=len(o.duplicates))
        metrics.add_metric(name=self.names.dead_letters, unit="Count", value=len(o.dead_letters))
        for name, value in o.counters.items():
            metrics.add_metric(name=name, unit="Count", value=value)
        if o.retry and not result.made_progress:
            raise TransientError("; ".join(o.reasons) or "no progress")
        if o.retry:
            logger.warning(
                "records left for retry", extra={"count": len(o.retry), "reasons": o.reasons[:5]}
            )
        return batch_item_failures(o.retry)
