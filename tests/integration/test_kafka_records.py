"""Records from any Kafka client reach the function as Lambda's Java poller delivers them, and
what no client can decode goes to the failure destination without stalling the partition."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.record import default_records

from eventflow_local.eventsources.destinations import FailureDestinations
from eventflow_local.eventsources.kafka.mapping import EsmOptions, KafkaEventSourceMapping
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.specs import EventSpec

pytestmark = pytest.mark.integration

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:Undecodable"


class Recorder:
    function_name = "Recorder"

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult:
        for records in event["records"].values():
            self.records.extend(records)
        return InvocationResult(ok=True, payload=None, request_id=str(uuid.uuid4()))


@pytest.fixture
def mapping(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Any]:
    made: list[KafkaEventSourceMapping] = []
    destinations = FailureDestinations(tmp_path / "state")

    def make(topic: str, recorder: Recorder, **props: Any) -> KafkaEventSourceMapping:
        properties = {
            "KafkaBootstrapServers": [kafka_bootstrap],
            "Topics": [topic],
            "StartingPosition": "TRIM_HORIZON",
            "MaximumBatchingWindowInSeconds": 0,
            **props,
        }
        esm = KafkaEventSourceMapping(
            "Recorder",
            EventSpec("Source", "SelfManagedKafka", properties),
            recorder,
            kafka_bootstrap,
            destinations=destinations,
            log=lambda line: None,
            options=EsmOptions(retry_initial_delay=0.01, retry_max_delay=0.05, poll_interval=0.05),
        )
        made.append(esm)
        return esm

    make.destinations = destinations  # type: ignore[attr-defined]
    yield make
    for esm in made:
        esm.stop(timeout=5)
    destinations.close()


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_every_compression_codec_decodes(codec, make_topic, kafka_bootstrap, mapping):
    # GIVEN records produced with each codec the Java client supports
    topic = make_topic(1)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, compression_type=codec)
    try:
        for i in range(20):
            producer.send(topic, value=f"{codec}-{i}".encode() * 20, partition=0)
        producer.flush()
    finally:
        producer.close()
    recorder = Recorder()
    # WHEN the mapping reads them  THEN every one is delivered, in order
    assert mapping(topic, recorder).run_until_idle(10)
    values = [base64.b64decode(r["value"]) for r in recorder.records]
    assert values == [f"{codec}-{i}".encode() * 20 for i in range(20)]


def test_null_keys_tombstones_empty_values_and_empty_header_values(
    make_topic, kafka_producer, mapping
):
    topic = make_topic(1)
    kafka_producer.send(topic, key=None, value=b"no key", partition=0)
    kafka_producer.send(topic, key=b"k", value=None, partition=0)  # a tombstone
    kafka_producer.send(topic, key=b"k", value=b"", partition=0, headers=[("h", b"")])
    kafka_producer.flush()
    recorder = Recorder()
    assert mapping(topic, recorder).run_until_idle(10)
    no_key, tombstone, empty = recorder.records
    assert "key" not in no_key and base64.b64decode(no_key["value"]) == b"no key"
    assert base64.b64decode(tombstone["key"]) == b"k" and "value" not in tombstone
    assert empty["value"] == "" and empty["headers"] == [{"h": []}]


def test_a_header_name_that_is_not_utf8_is_decoded_leniently(make_topic, kafka_bootstrap, mapping):
    class Breaker(str):
        def encode(self, *args: Any, **kwargs: Any) -> bytes:
            return b"x\xffy"

    topic = make_topic(1)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    try:
        producer.send(topic, b"odd", headers=[(Breaker("h"), b"v")], partition=0).get(10)
    finally:
        producer.close()
    recorder = Recorder()
    assert mapping(topic, recorder).run_until_idle(10)
    # as Java's new String(bytes, UTF_8): the invalid byte becomes U+FFFD
    assert recorder.records[0]["headers"] == [{"x\ufffdy": [118]}]


def test_a_batch_no_client_can_decode_goes_to_the_destination_and_the_partition_moves_on(
    make_topic, kafka_bootstrap, kafka_producer, mapping
):
    # GIVEN a record, then a batch that claims gzip but holds garbage, then a good record
    topic = make_topic(1)
    kafka_producer.send(topic, b"before", partition=0).get(10)
    original = default_records.gzip_encode
    default_records.gzip_encode = lambda data, *a, **k: b"this is not gzip data"
    try:
        broken = KafkaProducer(bootstrap_servers=kafka_bootstrap, compression_type="gzip")
        broken.send(topic, b"lost-1", partition=0)
        broken.send(topic, b"lost-2", partition=0)
        broken.flush()
        broken.close()
    finally:
        default_records.gzip_encode = original
    kafka_producer.send(topic, b"after", partition=0).get(10)

    # WHEN the mapping reads the partition
    recorder = Recorder()
    esm = mapping(topic, recorder, DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}})
    started = time.monotonic()
    assert esm.run_until(lambda: len(recorder.records) >= 2, 10)

    # THEN the good records are delivered within 5 s, the partition commits past the bad batch ...
    assert time.monotonic() - started < 5
    assert [base64.b64decode(r["value"]) for r in recorder.records] == [b"before", b"after"]
    assert esm.run_until_idle(5)
    assert list(esm.committed_offsets().values()) == [4]
    # ... and the batch's raw bytes and the reason went to the failure destination
    (failure,) = mapping.destinations.read_queue(QUEUE_ARN)
    assert failure["requestContext"]["condition"] == "RecordDecodingFailed"
    assert failure["undecodableBatch"]["baseOffset"] == 1
    assert failure["undecodableBatch"]["nextOffset"] == 3
    assert failure["undecodableBatch"]["reason"]
    (payload,) = failure["payload"]["records"][f"{topic}-0"]
    assert b"this is not gzip data" in base64.b64decode(payload["value"])
