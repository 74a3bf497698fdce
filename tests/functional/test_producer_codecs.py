"""KAFKA_COMPRESSION: the relay and the emitter publish with each codec to a real broker.

The functions are loaded from template.yaml as Lambda would load them, with the template's
environment plus ``KAFKA_COMPRESSION``; their own production publisher sends to the embedded broker
(Tansu over the Kafka protocol), and a separate kafka-python consumer reads the records back.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from eventflow.quakes.domain.models import Earthquake
from eventflow.quakes.usecases.emitter import QuakeEmitter
from eventflow_local.services.broker import ensure_topics
from tests.functional.broker_support import broker, fresh_settings, read_back
from tests.functional.test_quakes_emitter import Rig
from tests.support import Function, patched_env

EVENTS = Path(__file__).resolve().parents[2] / "events"
__all__ = ["broker", "fresh_settings"]  # fixtures used by the tests below
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


@pytest.mark.parametrize("codec", CODECS)
def test_the_relay_publishes_with_each_codec(tpl, broker, codec):
    # GIVEN the relay with KAFKA_COMPRESSION=<codec> and its topic on a real broker
    topic = f"transactions-{codec}"
    ensure_topics(broker, {topic: 3})
    fn = Function(
        tpl,
        "OutboxRelayFunction",
        {
            "KAFKA_BOOTSTRAP_SERVERS": broker,
            "KAFKA_COMPRESSION": codec,
            "TRANSACTIONS_TOPIC": topic,
        },
    )
    # WHEN it relays the outbox stream event
    result = fn(json.loads((EVENTS / "outbox_relay_stream.json").read_text()))
    # THEN its producer used the codec, and the record reads back whole, keyed by account
    producer = fn.module.publisher().producer
    assert producer.config["compression_type"] == (None if codec == "none" else codec)
    assert result == {"published": 1}
    [record] = read_back(broker, topic, 1)
    assert record.key == b"662c081370bd2ba6b5f04e94"
    assert json.loads(record.value)["status"] == "FRAUD"
    assert dict(record.headers)["eventType"] == b"TransactionMarkedFraud"


@pytest.mark.parametrize("codec", CODECS)
def test_the_emitter_publishes_with_each_codec(tpl, aws, broker, codec):
    # GIVEN the emitter with KAFKA_COMPRESSION=<codec>, publishing through its real publisher
    topic = f"quakes-{codec}-{uuid.uuid4().hex[:8]}"  # the module runs once per DynamoDB engine
    ensure_topics(broker, {topic: 3})
    rig = Rig(tpl)
    for fn in (rig.api_fn, rig.run_fn):
        fn.env.update(KAFKA_BOOTSTRAP_SERVERS=broker, KAFKA_COMPRESSION=codec)
    with patched_env(rig.run_fn.env):
        rig.publisher = rig.run_fn.module.publisher()
    make_emitter = rig.make_emitter
    rig.run_fn.module.emitter = lambda: _on_topic(make_emitter(), topic)
    # WHEN a stream runs for two (simulated) seconds at 20 events/s
    rig.api.post("/earthquake-events/start", {"rate": 20})
    rig.time.at(2.0, lambda: rig.api.post("/earthquake-events/stop"))
    report = rig.run()
    # THEN every emitted event reads back from the broker, keyed by its region
    assert report["reason"] == "stopped"
    assert rig.publisher.producer.config["compression_type"] == (None if codec == "none" else codec)
    emitted = rig.status()["emitted"]
    assert emitted >= 30  # 20/s for 2 s, less the start-up tick
    records = read_back(broker, topic, emitted)
    assert len(records) == emitted
    events = [Earthquake.model_validate_json(r.value) for r in records]
    assert len({e.id for e in events}) == emitted
    assert all(r.key == (e.region or "").encode() for r, e in zip(records, events, strict=True))


def _on_topic(emitter: QuakeEmitter, topic: str) -> QuakeEmitter:
    emitter.topic = topic
    return emitter
