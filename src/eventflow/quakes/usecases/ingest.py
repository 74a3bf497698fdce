"""The earthquake consumer's use case: store each event once, keep region aggregates, raise alerts.

It plugs into ``eventflow.consumer.pipeline`` (parse, dead letters, in-batch dedupe, response);
``apply`` groups the batch's events by region and runs, per round, three sequential DynamoDB round
trips (plus the alerts' publish):

1. one BatchGetItem reads which events are stored already (and from which record) and the
   aggregates of the regions involved. An event is new unless its aggregate has folded its record
   in already (a redelivery: the record's offset is at or below the region's offset for that
   partition) or it was stored from another record (the same event published twice);
2. the alerts of the new events (magnitude >= threshold) are published to the alerts topic and
   acknowledged, then the new events and alerts are stored (BatchWriteItem: idempotent puts);
3. one transaction puts every region's new aggregate, each conditional on the version read in
   1. A region that changed meanwhile is read again in the next round.

Publishing first means a stored alert was published (at least once: a retry publishes it again,
with the same id). Storing before counting means a crash between 2 and 3 leaves events stored
but not counted; their redelivered records are then counted (the aggregate's offsets say they
were not, and the stored event names this very record as its source).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventflow.clock import epoch_ms
from eventflow.consumer.pipeline import Applied, Delivery, Park
from eventflow.consumer.records import parse_json_record
from eventflow.errors import TransientError
from eventflow.kafka.events import KafkaRecord
from eventflow.kafka.producer import Message
from eventflow.quakes.adapters.store import QuakeLedger, RegionCommit
from eventflow.quakes.domain.models import Earthquake, event_payload
from eventflow.quakes.domain.regions import REGION_KEY_PATTERN, region_for_location, region_name
from eventflow.quakes.domain.rules import (
    QuakeFacts,
    RegionAggregate,
    advance,
    aggregate,
    is_alert,
    iso_from_ms,
    severity,
)
from eventflow.quakes.ports import Publisher

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


def parse_quake_record(record: KafkaRecord) -> Earthquake:
    """Decode and validate one record; raise ValueError with the reason (``schema: ...``)."""
    return parse_json_record(record, Earthquake)


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
    def event_item(self, p: Pending, now: str) -> dict[str, Any]:
        """The stored event (the store adds its index keys and expiry)."""
        return {
            **event_payload(p.quake),
            "region": p.region,
            "alert": self.alerts_for(p),
            "receivedAt": now,
            "source": p.record.ref,
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

    # ------------------------------------------------------------------ the pipeline's hooks
    def parse(self, record: KafkaRecord) -> Earthquake:
        return parse_quake_record(record)

    def event_id(self, event: Earthquake) -> str:
        return event.id

    def apply(self, deliveries: list[Delivery[Earthquake]], park: Park) -> Applied:
        result = Applied()
        pending: OrderedDict[str, list[Pending]] = OrderedDict()
        for d in deliveries:
            p = Pending(d.event, resolve_region(d.event, d.record), d.record)
            pending.setdefault(p.region, []).append(p)

        raised: dict[str, dict[str, Any]] = {}  # alerts published in this invocation, by id
        alerts: list[dict[str, Any]] = []
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            try:
                self._round(pending, raised, result, alerts)
            except TransientError as exc:
                result.reasons.append(str(exc))
                break
            if result.reasons:
                break
        for items in pending.values():
            result.retry.extend(p.record for p in items)
        if result.retry and not result.reasons:
            result.reasons.append("regions kept changing during the batch")
        for alert in alerts:
            result.notes.append(
                (
                    "earthquake alert",
                    {
                        "eventId": alert["id"],
                        "region": alert["region"],
                        "magnitude": alert["magnitude"],
                    },
                )
            )
        result.counters["QuakeAlertsRaised"] = len(alerts)
        return result

    def _round(
        self,
        pending: OrderedDict[str, list[Pending]],
        raised: dict[str, dict[str, Any]],
        result: Applied,
        alerts: list[dict[str, Any]],
    ) -> None:
        """Read, publish the new alerts, store, commit. Settled records leave ``pending``."""
        ids = [p.id for items in pending.values() for p in items]
        sources, aggregates = self.ledger.lookup(ids, list(pending))
        now_ms = self.clock_ms()
        now, expires_at = iso_from_ms(now_ms), now_ms // 1000 + self.retention_s
        counted: dict[str, list[Pending]] = {}
        commits: list[RegionCommit] = []
        for region, items in pending.items():
            current = aggregates.get(region) or RegionAggregate(region)
            new: list[Pending] = []
            positions: dict[str, int] = {}
            for p in items:
                rec = p.record
                positions[rec.partition_id] = max(rec.offset, positions.get(rec.partition_id, -1))
                if current.counted(rec.partition_id, rec.offset):
                    continue  # a redelivery: folded into the aggregate already
                if p.id in sources and sources[p.id] != rec.ref:
                    continue  # the same event, already stored from another record
                new.append(p)
            counted[region] = new
            folded = aggregate(
                current,
                (
                    QuakeFacts(p.id, p.quake.magnitude, p.quake.timestamp, self.alerts_for(p))
                    for p in new
                ),
            )
            commits.append((current.version, advance(folded, positions), region_name(region), now))

        new_events = [p for items in counted.values() for p in items]
        fresh = []
        for p in new_events:
            if self.alerts_for(p) and p.id not in raised:
                raised[p.id] = self.alert(p, now)
                fresh.append(raised[p.id])
        if fresh:
            try:
                self.publisher.publish([self.alert_message(a) for a in fresh])
            except Exception:
                for a in fresh:  # not published: publish them again next time
                    raised.pop(a["id"], None)
                raise
        self.ledger.store(
            [self.event_item(p, now) for p in new_events],
            [raised[p.id] for p in new_events if p.id in raised],
            expires_at,
        )

        outcome = self.ledger.commit(commits)
        for region in outcome.committed:
            new_ids = {p.id for p in counted[region]}
            for p in pending.pop(region):
                if p.id in new_ids:
                    result.applied.append(p.record)
                    if p.id in raised:
                        alerts.append(raised[p.id])
                else:
                    result.duplicates.append(p.record)
        result.reasons.extend(outcome.transient)

    def alerts_for(self, p: Pending) -> bool:
        return is_alert(p.quake.magnitude, self.threshold)

    def alert_message(self, alert: dict[str, Any]) -> Message:
        return Message.json(
            self.alerts_topic,
            alert["region"],
            {k: v for k, v in alert.items() if v is not None},
            headers={"eventId": alert["id"], "eventType": ALERT_EVENT_TYPE},
        )
