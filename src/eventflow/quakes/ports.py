"""The small interfaces the earthquake use cases depend on (adapters or test fakes fill them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from eventflow.kafka.producer import Message


class Publisher(Protocol):
    """Sends messages and returns once every one is acknowledged (``KafkaPublisher``)."""

    def publish(self, messages: Iterable[Message], timeout_s: float = ...) -> int: ...


class Kicker(Protocol):
    """Starts an emission run now. Returns False when it could not (the schedule will)."""

    def kick(self, reason: str = ...) -> bool: ...
