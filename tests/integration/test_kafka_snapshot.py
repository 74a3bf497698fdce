"""eventflow_local/services/kafka_snapshot.py: a memory-only broker's records and committed offsets, saved from one
broker and restored into a fresh one at the same offsets, as a restart of ``up`` does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from eventflow_local.services import kafka_snapshot
from eventflow_local.services.broker import EmbeddedBroker, ensure_topics

pytestmark = pytest.mark.integration

TOPIC = "snapshot-topic"
GROUP = "snapshot-group"


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[list[EmbeddedBroker]]:
    started: list[EmbeddedBroker] = []
    try:
        yield started
    finally:
        for broker in started:
            broker.stop()


def fresh(brokers: list[EmbeddedBroker], tmp_path: Path) -> str:
    broker = EmbeddedBroker(log_path=tmp_path / f"broker-{len(brokers)}.log").start()
    brokers.append(broker)
    ensure_topics(broker.bootstrap_servers, {TOPIC: 2})
    return broker.bootstrap_servers


def read_all(bootstrap: str, topic: str) -> list:
    """Every record of ``topic``, read until the broker has nothing more (Tansu's end offsets
    count record batches, so they cannot bound the read)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list = []
        idle = 0
        while idle < 2:
            fetched = consumer.poll(timeout_ms=500)
            idle = 0 if fetched else idle + 1
            out.extend(r for batch in fetched.values() for r in batch)
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close(autocommit=False)


def committed(bootstrap: str, partitions: int = 2) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    try:
        return {p: consumer.committed(TopicPartition(TOPIC, p)) for p in range(partitions)}
    finally:
        consumer.close(autocommit=False)


def test_records_and_offsets_come_back_at_the_same_offsets(brokers, tmp_path: Path) -> None:
    # GIVEN a broker with records on two partitions (keys, headers, timestamps, a null value)
    first = fresh(brokers, tmp_path)
    producer = KafkaProducer(bootstrap_servers=first, acks="all")
    for n in range(5):
        producer.send(
            TOPIC,
            key=f"k{n}".encode(),
            value=None if n == 3 else f"v{n}".encode(),
            headers=[("eventType", b"T"), ("n", str(n).encode())],
            partition=n % 2,
            timestamp_ms=1_700_000_000_000 + n,
        )
    producer.flush()
    producer.close()
    # AND a consumer group that committed part of them
    consumer = KafkaConsumer(bootstrap_servers=first, group_id=GROUP, enable_auto_commit=False)
    consumer.commit({TopicPartition(TOPIC, 0): OffsetAndMetadata(2, "", -1)})
    consumer.close(autocommit=False)
    before = read_all(first, TOPIC)
    assert len(before) == 5

    # WHEN they are saved, the broker is gone, and a fresh one gets them back
    path = tmp_path / kafka_snapshot.SNAPSHOT
    assert kafka_snapshot.save(first, [TOPIC], [GROUP, "a-group-that-never-committed"], path) == (
        5,
        1,
    )
    brokers.pop().stop()
    second = fresh(brokers, tmp_path)
    lines: list[str] = []
    assert kafka_snapshot.restore(second, path, lines.append) == (5, 1)

    # THEN every record is back at its offset, with its key, value, headers and timestamp
    after = read_all(second, TOPIC)
    shape = [(r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp) for r in after]
    assert shape == [
        (r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp) for r in before
    ]
    # AND the group resumes where it was; the snapshot is used once
    assert committed(second) == {0: 2, 1: None}
    assert not path.exists() and lines == []
    assert kafka_snapshot.restore(second, path, lines.append) is None


def test_a_partition_that_is_not_empty_keeps_its_records(brokers, tmp_path: Path) -> None:
    first = fresh(brokers, tmp_path)
    producer = KafkaProducer(bootstrap_servers=first, acks="all")
    producer.send(TOPIC, value=b"old", partition=0)
    producer.flush()
    path = tmp_path / kafka_snapshot.SNAPSHOT
    kafka_snapshot.save(first, [TOPIC], [], path)
    # the same broker still holds the record: restoring would put it there twice
    lines: list[str] = []
    assert kafka_snapshot.restore(first, path, lines.append) == (0, 0)
    producer.close()
    assert [r.value for r in read_all(first, TOPIC)] == [b"old"]
    assert lines == [f"kafka: {TOPIC}-0 is not empty: its saved records stay out"]
