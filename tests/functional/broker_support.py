"""A real broker for functional tests that publish: one embedded Tansu per module, and readers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from eventflow.config import kafka_settings
from eventflow_local.services.broker import EmbeddedBroker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = Path(tmp_path_factory.mktemp("kafka")) / "broker.log"
    with EmbeddedBroker(log_path=log) as running:
        yield running.bootstrap_servers


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Settings are read once per process (once per Lambda environment): each test is a new one."""
    kafka_settings.cache_clear()
    yield
    kafka_settings.cache_clear()


def read_back(bootstrap: str, topic: str, count: int, timeout: float = 10.0) -> list:
    """The first ``count`` records of ``topic`` (every partition), without a consumer group;
    waits ``timeout`` at most, and a short while more when ``count`` is 0."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        out: list = []
        deadline = time.monotonic() + (timeout if count else 1.0)
        while (len(out) < count or not count) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=100).values():
                out.extend(records)
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close(autocommit=False)
