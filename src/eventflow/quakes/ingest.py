"""The earthquake consumer's use case: store each event once, keep region aggregates, raise alerts.

Input: a batch of Kafka records. Output: which records were stored, which were duplicates,
which are permanent failures (parked as dead letters) and which must be retried (transient).

Per round it reads, in one BatchGetItem, which events exist already and the aggregates of the
regions involved; publishes the alerts of the new events (magnitude >= threshold) to the alerts
topic and waits for the acknowledgements; then commits each region's new events, alerts and
aggregate in transactions. Publishing before committing means an alert that is stored was
published (at least once: a retry after a failed commit publishes it again, with the same id).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from eventflow.clock import epoch_ms
from eventflow.errors import TransientError
from eventflow.kafka.deadletter import DeadLetter
from eventflow.kafka.events import KafkaRecord
from eventflow.kafka.producer import Message
from eventflow.quakes.models import Earthquake, event_payload
from eventflow.quakes.ports import Publisher
from eventflow.quakes.regions import REGION_KEY_PATTERN, region_for_location, region_name
from eventflow.quakes.rules import (
    QuakeFacts,
    RegionAggregate,
    aggregate,
    is_alert,
    iso_from_ms,
    severity,
    sort_key,
)
from eventflow.quakes.store import ALERT_LIST_KEY, QUAKE_LIST_KEY, QuakeLedger, RegionWrite

MAX_ROUNDS = 12
ALERT_EVENT_TYPE = "EarthquakeAlert"


@dataclass(frozen=True)
class Pending:
    quake: Earthquake
    region: str
    record: KafkaRecord

    @property
    def id(self) -> str:
        return self.quake.id


@dataclass
class IngestResult:
    stored: list[KafkaRecord] = field(default_factory=list)
    duplicates: list[KafkaRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    retry: list[KafkaRecord] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    transient_reasons: list[str] = field(default_factory=list)


def parse_quake_record(record: KafkaRecord) -> Earthquake:
    """Decode and validate one record; raise ValueError with the reason (``schema: ...``)."""
    data = record.json_value()
    if not isinstance(data, dict):
        raise ValueError(f"record value is JSON {type(data).__name__}, expected an object")
    try:
        return Earthquake.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"schema: {problems}") from None


def resolve_region(quake: Earthquake, record: KafkaRecord) -> str:
    """The event's region, else the record's key if it is a region key, else the nearest region."""
    if quake.region:
        return quake.region
    if record.key:
        key = record.key.decode("utf-8", errors="replace")
        if REGION_KEY_PATTERN.match(key):
            return key
    return region_for_location(quake.location.latitude, quake.location.longitude)


class QuakeIngestor:
    def __init__(
        self,
        ledger: QuakeLedger,
        publisher: Publisher,
        alerts_topic: str,
        threshold: float = 6.0,
        retention_s: int = 30 * 24 * 3600,
        clock_ms: Callable[[], int] = epoch_ms,
    ) -> None:
        self.ledger = ledger
        self.publisher = publisher
        self.alerts_topic = alerts_topic
        self.threshold = threshold
        self.retention_s = retention_s
        self.clock_ms = clock_ms

    # ------------------------------------------------------------------ items
    def event_item(self, p: Pending, now: str, expires_at: int) -> dict[str, Any]:
        return {
            **event_payload(p.quake),
            "region": p.region,
            "alert": is_alert(p.quake.magnitude, self.threshold),
            "receivedAt": now,
            "source": p.record.ref,
            "listKey": QUAKE_LIST_KEY,
            "sortKey": sort_key(p.quake.timestamp, p.id),
            "expiresAt": expires_at,
        }

    def alert(self, p: Pending, now: str) -> dict[str, Any]:
        """The alert record as published (and stored, with its index keys)."""
        q = p.quake
        return {
            "id": q.id,
            "eventId": q.id,
            "region": p.region,
            "regionName": region_name(p.region),
            "magnitude": q.magnitude,
            "severity": severity(q.magnitude),
            "threshold": self.threshold,
            "location": q.location.model_dump(),
            "depthKm": q.depthKm,
            "timestamp": q.timestamp,
            "raisedAt": now,
        }

    # ------------------------------------------------------------------ the batch
    def process(self, records: list[KafkaRecord]) -> IngestResult:
        result = IngestResult()
        pending: OrderedDict[str, list[Pending]] = OrderedDict()
        seen: set[str] = set()
        for rec in records:
            try:
                quake = parse_quake_record(rec)
            except ValueError as exc:
                reason = "SCHEMA" if str(exc).startswith("schema:") else "MALFORMED"
                result.dead_letters.append(DeadLetter(rec, reason, str(exc)))
                continue
            if quake.id in seen:  # the same event twice in one batch
                result.duplicates.append(rec)
                continue
            seen.add(quake.id)
            p = Pending(quake, resolve_region(quake, rec), rec)
            pending.setdefault(p.region, []).append(p)

        raised: dict[str, dict[str, Any]] = {}  # alerts published in this invocation, by id
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            try:
                self._round(pending, raised, result)
            except TransientError as exc:
                result.transient_reasons.append(str(exc))
                break
            if result.transient_reasons:
                break
        for items in pending.values():
            result.retry.extend(p.record for p in items)
        if result.retry and not result.transient_reasons:
            result.transient_reasons.append("regions kept changing during the batch")
        return result

    def _round(
        self,
        pending: OrderedDict[str, list[Pending]],
        raised: dict[str, dict[str, Any]],
        result: IngestResult,
    ) -> None:
        """Read, publish the new alerts, commit. Settled records leave ``pending``."""
        ids = [p.id for items in pending.values() for p in items]
        existing, aggregates = self.ledger.lookup(ids, list(pending))
        if existing:
            self._drop(pending, existing, result)
        now_ms = self.clock_ms()
        now, expires_at = iso_from_ms(now_ms), now_ms // 1000 + self.retention_s
        writes: list[RegionWrite] = []
        fresh: list[dict[str, Any]] = []
        for region, items in pending.items():
            take: list[Pending] = []
            alerts: list[dict[str, Any]] = []
            for p in items:
                alert = is_alert(p.quake.magnitude, self.threshold)
                if 1 + len(take) + len(alerts) + (2 if alert else 1) > QuakeLedger.MAX_ITEMS:
                    break
                take.append(p)
                if alert:
                    if p.id not in raised:
                        raised[p.id] = self.alert(p, now)
                        fresh.append(raised[p.id])
                    alerts.append(raised[p.id])
            current = aggregates.get(region) or RegionAggregate(region)
            new = aggregate(
                current,
                (
                    QuakeFacts(p.id, p.quake.magnitude, p.quake.timestamp, p.id in raised)
                    for p in take
                ),
            )
            writes.append(
                RegionWrite(
                    region=region,
                    expected_count=current.count,
                    aggregate={**new.to_item(), "name": region_name(region), "updatedAt": now},
                    events=tuple(self.event_item(p, now, expires_at) for p in take),
                    alerts=tuple(
                        {
                            **a,
                            "listKey": ALERT_LIST_KEY,
                            "sortKey": sort_key(a["timestamp"], a["id"]),
                            "expiresAt": expires_at,
                        }
                        for a in alerts
                    ),
                )
            )
        if fresh:
            try:
                self.publisher.publish([self.alert_message(a) for a in fresh])
            except Exception:
                for a in fresh:  # not published: publish them again next time
                    raised.pop(a["id"], None)
                raise

        outcome = self.ledger.commit(writes)
        for w in outcome.committed:
            done = pending[w.region][: len(w.events)]
            result.stored.extend(p.record for p in done)
            result.alerts.extend(raised[p.id] for p in done if p.id in raised)
            rest = pending[w.region][len(w.events) :]
            if rest:
                pending[w.region] = rest
            else:
                del pending[w.region]
        if outcome.duplicate_ids:
            self._drop(pending, outcome.duplicate_ids, result)
        result.transient_reasons.extend(outcome.transient)

    def alert_message(self, alert: dict[str, Any]) -> Message:
        return Message.json(
            self.alerts_topic,
            alert["region"],
            {k: v for k, v in alert.items() if v is not None},
            headers={"eventId": alert["id"], "eventType": ALERT_EVENT_TYPE},
        )

    @staticmethod
    def _drop(
        pending: OrderedDict[str, list[Pending]], ids: set[str], result: IngestResult
    ) -> None:
        for region in list(pending):
            keep = []
            for p in pending[region]:
                if p.id in ids:
                    result.duplicates.append(p.record)
                else:
                    keep.append(p)
            if keep:
                pending[region] = keep
            else:
                del pending[region]


def require_progress(result: IngestResult) -> None:
    """Raise when nothing could be done at all, so the whole batch is retried."""
    if result.retry and not (result.stored or result.duplicates or result.dead_letters):
        raise TransientError("; ".join(result.transient_reasons) or "no progress")
