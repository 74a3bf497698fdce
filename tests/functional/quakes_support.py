"""Helpers for the earthquake functional tests: fakes for the ports, simulated time, a topic."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eventflow.errors import TransientError
from eventflow.kafka.producer import Message
from eventflow.quakes.domain.generator import QuakeGenerator
from eventflow.quakes.domain.models import Earthquake, Location, MagnitudeLaw
from eventflow_local.events.kafka import RawRecord, json_record, kafka_event

QUAKES_TOPIC = "earthquake-service-topic"
ALERTS_TOPIC = "earthquake-alerts-topic"
T0_MS = 1_764_072_000_000  # 2025-11-25T12:00:00Z


@dataclass
class FakePublisher:
    """Records what would be published; ``fail_next`` makes the next publish fail transiently."""

    messages: list[Message] = field(default_factory=list)
    calls: list[tuple[float, int]] = field(default_factory=list)  # (time, batch size)
    fail_next: int = 0
    clock: Callable[[], float] | None = None

    def publish(self, messages: Iterable[Message], timeout_s: float = 20.0) -> int:
        batch = list(messages)
        if self.fail_next:
            self.fail_next -= 1
            raise TransientError("Kafka publish failed: broker unreachable")
        self.messages.extend(batch)
        self.calls.append((self.clock() if self.clock else 0.0, len(batch)))
        return len(batch)

    def payloads(self, topic: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(m.value) for m in self.messages if topic is None or m.topic == topic]


@dataclass
class FakeKicker:
    kicks: list[str] = field(default_factory=list)
    works: bool = True

    def kick(self, reason: str = "start") -> bool:
        self.kicks.append(reason)
        return self.works


class SimulatedTime:
    """A clock that only moves when the code under test sleeps; ``at(t, fn)`` runs ``fn`` once
    simulated time reaches ``t`` seconds (a stop request, a rate change...)."""

    def __init__(self, start_ms: int = T0_MS) -> None:
        self.start_ms = start_ms
        self.now = 0.0
        self.hooks: list[tuple[float, Callable[[], Any]]] = []

    def monotonic(self) -> float:
        return self.now

    def clock_ms(self) -> int:
        return self.start_ms + int(self.now * 1000)

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        due = [h for h in self.hooks if h[0] <= self.now]
        self.hooks = [h for h in self.hooks if h[0] > self.now]
        for _, fn in sorted(due, key=lambda h: h[0]):
            fn()

    def at(self, t: float, fn: Callable[[], Any]) -> None:
        self.hooks.append((t, fn))


class QuakeTopic:
    """Builds earthquake records with growing offsets per partition (key = region)."""

    def __init__(self, topic: str = QUAKES_TOPIC, seed: int = 11) -> None:
        self.topic = topic
        self.offsets: dict[int, int] = {}
        self.gen = QuakeGenerator(
            MagnitudeLaw.GUTENBERG_RICHTER, rng=random.Random(seed), clock_ms=lambda: T0_MS
        )
        self.ticks = 0

    def _offset(self, partition: int) -> int:
        off = self.offsets.get(partition, 0)
        self.offsets[partition] = off + 1
        return off

    def quake(self, **overrides: Any) -> Earthquake:
        """A generated event; ``timestamp`` grows by one second per event unless given."""
        self.ticks += 1
        base = self.gen.next().model_dump()
        base["timestamp"] = T0_MS + self.ticks * 1000
        if "latitude" in overrides or "longitude" in overrides:
            base["location"] = Location(
                latitude=overrides.pop("latitude", base["location"]["latitude"]),
                longitude=overrides.pop("longitude", base["location"]["longitude"]),
            ).model_dump()
        return Earthquake.model_validate({**base, **overrides})

    def record(self, quake: Earthquake, partition: int = 0) -> RawRecord:
        payload = quake.model_dump(mode="json", exclude_none=True)
        return json_record(
            self.topic,
            partition,
            self._offset(partition),
            payload,
            key=quake.region,
            headers={"eventId": quake.id},
        )

    def raw(self, value: bytes | None, partition: int = 0, key: bytes | None = None) -> RawRecord:
        return RawRecord(self.topic, partition, self._offset(partition), value, key=key)

    def json(self, payload: Any, partition: int = 0, key: str | None = None) -> RawRecord:
        return json_record(self.topic, partition, self._offset(partition), payload, key=key)


def batch(records: Iterable[RawRecord]) -> dict[str, Any]:
    return kafka_event(records)


def schedule() -> dict[str, Any]:
    from eventflow_local.events.schedule import schedule_event

    return schedule_event(
        "arn:aws:events:us-east-1:123456789012:rule/eventflow-local-QuakeEmitterFunction-EmitSchedule"
    )
