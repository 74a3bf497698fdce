"""The earthquake domain's rules, as pure functions (no I/O).

- the stream's state as the API reports it, and when a stream counts as running
- pacing: how many events are due at a given rate
- alerts: who raises one, and how severe it is
- region aggregates: count, strongest event, latest event
- query parameters: ``since`` and the sort key of the time indexes
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from eventflow.errors import InvalidRequestError

# ---------------------------------------------------------------------------------- time


def iso_from_ms(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def sort_key(timestamp_ms: int, event_id: str) -> str:
    """Orders events by time (then id) as a string, for the range key of the time indexes."""
    return f"{timestamp_ms:013d}#{event_id}"


def parse_since(raw: str) -> int:
    """``since`` as epoch milliseconds: accepts epoch ms (digits) or an ISO 8601 timestamp."""
    text = raw.strip()
    if text.isdigit():
        value = int(text)
        if value >= 10**13:
            raise InvalidRequestError("since: epoch milliseconds out of range", field="since")
        return value
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidRequestError(
            "since must be epoch milliseconds or an ISO 8601 timestamp such as 2026-11-25T12:00:00Z",
            field="since",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp() * 1000))


# ---------------------------------------------------------------------------------- stream


@dataclass(frozen=True)
class StreamState:
    """The stream's item, as the stream store reads it (absent item = never started)."""

    running: bool = False
    rate: float | None = None
    magnitudes: str | None = None
    run_id: str | None = None
    started_at_ms: int | None = None
    stop_at_ms: int | None = None
    emitted: int = 0
    lease_owner: str | None = None
    lease_expires_ms: int | None = None
    last_emit_ms: int | None = None
    stopped_at_ms: int | None = None
    stop_reason: str | None = None

    def duration_elapsed(self, now_ms: int) -> bool:
        return self.running and self.stop_at_ms is not None and now_ms >= self.stop_at_ms

    def active(self, now_ms: int) -> bool:
        """Running, and not past the end its duration set."""
        return self.running and not self.duration_elapsed(now_ms)

    def emitter_alive(self, now_ms: int) -> bool:
        """An emitter holds an unexpired lease."""
        return bool(self.lease_owner) and (self.lease_expires_ms or 0) > now_ms

    def view(self, now_ms: int) -> dict[str, Any]:
        """What ``GET /earthquake-events`` shows."""
        active = self.active(now_ms)
        stopped_at, reason = self.stopped_at_ms, self.stop_reason
        if self.duration_elapsed(now_ms):
            stopped_at, reason = self.stop_at_ms, "duration elapsed"
        view: dict[str, Any] = {
            "running": active,
            "rate": plain_number(self.rate),
            "magnitudes": self.magnitudes,
            "emitted": self.emitted,
            "since": iso_from_ms(self.started_at_ms) if self.started_at_ms else None,
            "runId": self.run_id,
            "stopsAt": iso_from_ms(self.stop_at_ms) if self.stop_at_ms and active else None,
            "emitterActive": self.emitter_alive(now_ms),
            "lastEmitAt": iso_from_ms(self.last_emit_ms) if self.last_emit_ms else None,
        }
        if not active and stopped_at:
            view["stoppedAt"] = iso_from_ms(stopped_at)
            view["stopReason"] = reason
        return view


def plain_number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def events_due(rate: float, elapsed_s: float, sent: int) -> int:
    """How many events should be out ``elapsed_s`` after a stream (or a rate change) began.

    The first event goes at once, then one every ``1/rate`` seconds: over any span the count
    matches the rate, however irregular the caller's ticks are.
    """
    if rate <= 0 or elapsed_s < 0:
        return 0
    return max(0, math.floor(rate * elapsed_s + 1e-9) + 1 - sent)


# ---------------------------------------------------------------------------------- alerts

#: Descriptive classes of magnitude (USGS): the lower bound of each class.
SEVERITIES: tuple[tuple[float, str], ...] = (
    (8.0, "great"),
    (7.0, "major"),
    (6.0, "strong"),
    (5.0, "moderate"),
    (4.0, "light"),
    (3.0, "minor"),
)


def is_alert(magnitude: float, threshold: float) -> bool:
    return magnitude >= threshold


def severity(magnitude: float) -> str:
    for bound, name in SEVERITIES:
        if magnitude >= bound:
            return name
    return "micro"


# ---------------------------------------------------------------------------------- aggregates


@dataclass(frozen=True)
class QuakeFacts:
    """What an aggregate needs to know about one event."""

    id: str
    magnitude: float
    timestamp: int
    alert: bool


@dataclass(frozen=True)
class RegionAggregate:
    """A region's aggregate, and what the consumer needs to fold each event in exactly once.

    ``offsets`` is, per ``topic-partition``, the last offset folded in: a record at or below it
    was counted already (a redelivery). ``version`` grows with every write (optimistic lock).
    """

    region: str
    count: int = 0
    max_magnitude: float | None = None
    max_magnitude_event_id: str | None = None
    last_event_at: int | None = None
    last_event_id: str | None = None
    first_event_at: int | None = None
    alert_count: int = 0
    magnitude_sum: float = 0.0
    offsets: Mapping[str, int] = field(default_factory=dict)
    version: int = 0

    def counted(self, partition_id: str, offset: int) -> bool:
        """The record at ``offset`` of ``partition_id`` was folded in already."""
        return offset <= self.offsets.get(partition_id, -1)


@dataclass(frozen=True)
class RegionSummary:
    """A region as the catalogue lists it: its aggregate, its name, when it last changed."""

    aggregate: RegionAggregate
    name: str | None = None
    updated_at: str | None = None


def advance(current: RegionAggregate, positions: Mapping[str, int]) -> RegionAggregate:
    """The aggregate after the records up to ``positions`` (partition -> offset) were handled,
    as the next version."""
    offsets = dict(current.offsets)
    for partition_id, offset in positions.items():
        offsets[partition_id] = max(offset, offsets.get(partition_id, -1))
    return replace(current, offsets=offsets, version=current.version + 1)


def aggregate(current: RegionAggregate, events: Iterable[QuakeFacts]) -> RegionAggregate:
    """Fold new (never counted before) events into a region's aggregate.

    The strongest event keeps the first one seen on a tie; the latest is the one with the
    greatest timestamp (ties: greatest id), so the result does not depend on delivery order.
    """
    agg = current
    for e in events:
        stronger = agg.max_magnitude is None or e.magnitude > agg.max_magnitude
        later = agg.last_event_at is None or (e.timestamp, e.id) > (
            agg.last_event_at,
            agg.last_event_id or "",
        )
        agg = replace(
            agg,
            count=agg.count + 1,
            max_magnitude=e.magnitude if stronger else agg.max_magnitude,
            max_magnitude_event_id=e.id if stronger else agg.max_magnitude_event_id,
            last_event_at=e.timestamp if later else agg.last_event_at,
            last_event_id=e.id if later else agg.last_event_id,
            first_event_at=e.timestamp
            if agg.first_event_at is None
            else min(agg.first_event_at, e.timestamp),
            alert_count=agg.alert_count + (1 if e.alert else 0),
            magnitude_sum=agg.magnitude_sum + e.magnitude,
        )
    return agg
