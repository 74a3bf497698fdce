"""Deduplication of an SNS FIFO topic's messages, done by the harness.

AWS (``Publish`` in the Amazon SNS API reference; "Message deduplication for FIFO topics" in the
SNS developer guide): a message whose ``MessageDeduplicationId`` was already published to the FIFO
topic within the 5-minute deduplication interval is accepted but not delivered. Without an id, a
topic with ``ContentBasedDeduplication`` uses the SHA-256 hash of the message body (not of its
attributes). A subscribed SQS FIFO queue receives each message with its ``MessageGroupId`` and
deduplication id.

Why the harness does it: each subscription reads its topic through a tap queue of moto's
(``delivery.py``), and moto deduplicates a FIFO queue's messages only against the messages still
in it (the tap is emptied at once), and hashes what the tap receives, SNS's envelope, whose
message id is new at every publish. So the tap's deduplication id is taken when the publisher
gave one, the hash of the message otherwise, and each subscription remembers the ids it
delivered for the interval (every subscription of a topic sees the same stream: the effect is
the topic's). The scope is the topic (``FifoThroughputScope: Topic``, SNS's default); a
``MessageGroup`` scope deduplicates within each group.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

#: SNS's deduplication interval, seconds
DEDUPLICATION_INTERVAL = 300.0


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def deduplication_id(message: Mapping[str, Any], envelope: Mapping[str, Any]) -> str:
    """The deduplication id SNS gives a message of its tap (``message``: as ``ReceiveMessage``
    answers it, with its attributes; ``envelope``: its body, parsed)."""
    given = str((message.get("Attributes") or {}).get("MessageDeduplicationId") or "")
    if given and given != _sha256(str(message.get("Body", ""))):  # the publisher's own id
        return given
    return _sha256(str(envelope.get("Message", "")))


class FifoDeduplicator:
    """``admit(message, envelope)``: the message's deduplication id, or None when another message
    with the same id was admitted within the interval (a duplicate SNS does not deliver). The
    same message seen again (a delivery retried after a server-side error) is admitted again."""

    def __init__(
        self,
        scope: str = "Topic",
        interval: float = DEDUPLICATION_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scope = scope
        self.interval = interval
        self.clock = clock
        #: (group or "", deduplication id) -> (when admitted, the SNS MessageId admitted)
        self._seen: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def admit(self, message: Mapping[str, Any], envelope: Mapping[str, Any]) -> str | None:
        dedup = deduplication_id(message, envelope)
        group = str((message.get("Attributes") or {}).get("MessageGroupId") or "")
        key = (group if self.scope == "MessageGroup" else "", dedup)
        message_id = str(envelope.get("MessageId") or "")
        now = self.clock()
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.interval}
            seen = self._seen.get(key)
            if seen is not None:
                return dedup if message_id and seen[1] == message_id else None
            self._seen[key] = (now, message_id)
        return dedup
