"""The console's window on Kafka: topics, partitions, end offsets, messages, and produce.

Everything is read over the Kafka protocol with kafka-python, as any client would: one consumer
with no group (manual assignment only, never a group JOIN, which is slow on the embedded broker)
for ListOffsets and Fetch, and a producer for the console's "produce a message" form. The
consumer is not thread-safe, so the requests of the page and of the live watcher take turns.

A message's key and header values are shown as text when they are UTF-8 (else base64); the value
is pretty-printed when it is JSON, shown as text when it is UTF-8, else as base64.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

MAX_MESSAGES = 200
FETCH_WAIT_S = 3.0


def _text(raw: bytes | None) -> dict[str, Any]:
    """``{"text": ...}`` for UTF-8 bytes, ``{"base64": ...}`` otherwise; None stays None."""
    if raw is None:
        return {"text": None}
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode()}


def message_view(rec: Any) -> dict[str, Any]:
    """One record as the page shows it."""
    value = _text(rec.value)
    if value.get("text") is not None:
        with contextlib.suppress(ValueError):
            value["json"] = json.loads(value["text"])
    return {
        "partition": rec.partition,
        "offset": rec.offset,
        "timestamp": rec.timestamp,
        "key": _text(rec.key),
        "headers": [{"name": name, **_text(v)} for name, v in (rec.headers or [])],
        "value": value,
        "size": len(rec.value or b""),
    }


class KafkaView:
    """Reads and writes the broker at ``bootstrap_servers`` for the console."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _client(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                group_id=None,
                client_id="eventflow-local-console",
                enable_auto_commit=False,
                fetch_max_wait_ms=50,
                request_timeout_ms=10_000,
                check_crcs=False,
            )
        return self._consumer

    def close(self) -> None:
        with self._lock:
            consumer, self._consumer = self._consumer, None
            producer, self._producer = self._producer, None
        if consumer is not None:
            consumer.close(autocommit=False)
        if producer is not None:
            producer.close(timeout=2)

    # ------------------------------------------------------------------ topics
    def topic_names(self, known: Iterable[str] = ()) -> list[str]:
        """The template's topics first, then any other the broker has (not internal ones)."""
        with self._lock:
            names = set(self._client().topics())
        first = [t for t in known if t in names]
        return first + sorted(t for t in names - set(first) if not t.startswith("__"))

    def offsets(self, topics: Iterable[str]) -> dict[str, dict[int, tuple[int, int]]]:
        """topic -> partition -> (beginning offset, end offset)."""
        with self._lock:
            consumer = self._client()
            tps = []
            for topic in topics:
                for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                    tps.append(TopicPartition(topic, partition))
            if not tps:
                return {}
            begins = consumer.beginning_offsets(tps)
            ends = self._high_watermarks(consumer, tps, consumer.end_offsets(tps))
        out: dict[str, dict[int, tuple[int, int]]] = {}
        for tp in tps:
            out.setdefault(tp.topic, {})[tp.partition] = (int(begins[tp]), int(ends[tp]))
        return out

    @staticmethod
    def _high_watermarks(
        consumer: KafkaConsumer, tps: list[TopicPartition], listed: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        """End offsets confirmed by a fetch's high watermark: some Kafka-compatible brokers (the
        embedded one among them) answer ListOffsets(latest) with the last batch's base offset + 1
        (as eventflow_local/eventsources/kafka/offsets.py notes)."""
        consumer.assign(tps)
        try:
            for tp in tps:
                consumer.seek(tp, listed[tp])
            deadline = time.monotonic() + FETCH_WAIT_S
            while time.monotonic() < deadline and any(consumer.highwater(tp) is None for tp in tps):
                consumer.poll(timeout_ms=50, max_records=1)
            return {tp: max(int(listed[tp]), consumer.highwater(tp) or 0) for tp in tps}
        finally:
            consumer.assign([])

    def messages(self, topic: str, limit: int = 50) -> list[dict[str, Any]]:
        """The latest ``limit`` messages of ``topic`` across its partitions, newest first."""
        limit = max(1, min(limit, MAX_MESSAGES))
        ranges = self.offsets([topic]).get(topic, {})
        records: list[Any] = []
        with self._lock:
            consumer = self._client()
            tps = [TopicPartition(topic, p) for p in ranges]
            consumer.assign(tps)
            wanted: dict[TopicPartition, int] = {}
            for tp in tps:
                begin, end = ranges[tp.partition]
                if end > begin:
                    consumer.seek(tp, max(begin, end - limit))
                    wanted[tp] = end
            deadline = time.monotonic() + FETCH_WAIT_S
            try:
                while wanted and time.monotonic() < deadline:
                    fetched = consumer.poll(timeout_ms=200, max_records=2000)
                    for tp, recs in fetched.items():
                        records.extend(r for r in recs if r.offset < wanted.get(tp, 0))
                    for tp in list(wanted):
                        if consumer.position(tp) >= wanted[tp]:
                            del wanted[tp]
            finally:
                consumer.assign([])
        records.sort(key=lambda r: (r.timestamp, r.offset), reverse=True)
        return [message_view(r) for r in records[:limit]]

    # ------------------------------------------------------------------ produce
    def produce(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Mapping[str, bytes] | None = None,
        partition: int | None = None,
    ) -> dict[str, Any]:
        """Send one record and wait for the broker's acknowledgement; where it landed."""
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    client_id="eventflow-local-console",
                )
            producer = self._producer
        future = producer.send(
            topic,
            value=value,
            key=key,
            headers=list((headers or {}).items()),
            partition=partition,
        )
        meta = future.get(timeout=10)
        return {"topic": meta.topic, "partition": meta.partition, "offset": meta.offset}
