"""The Kafka event source mapping emulation against a real broker (the Kafka protocol end to end)."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    KafkaMskEventModel,
    KafkaSelfManagedEventModel,
)
from kafka import KafkaProducer

from eventflow_local.eventsources.config import EsmConfigError
from eventflow_local.eventsources.destinations import (
    DestinationError,
    FailureDestinations,
    KafkaTopicDestination,
    SqsFileDestination,
)
from eventflow_local.eventsources.filters import FilterError, compile_filters
from eventflow_local.eventsources.kafka.mapping import (
    MAX_PAYLOAD_BYTES,
    EsmOptions,
    KafkaEventSourceMapping,
)
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.services.broker import BrokerError, EmbeddedBroker
from eventflow_local.template.specs import EventSpec
from tests.support import LOCAL_PARAMETERS, template

pytestmark = pytest.mark.integration

ARN = LOCAL_PARAMETERS["MskClusterArn"]
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:FailQueue"
FAST = dict(retry_initial_delay=0.01, retry_max_delay=0.05, poll_interval=0.05)


# ----------------------------------------------------------------------------------- helpers
class RecordingInvoker:
    """Calls a Python handler with the event, as Lambda would, and records every invocation."""

    function_name = "TestFunction"

    def __init__(self, handler: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.handler = handler or (lambda event: None)
        self.events: list[dict[str, Any]] = []
        self.results: list[InvocationResult] = []
        self.times: list[float] = []
        self.triggers: list[tuple[str, int | None]] = []

    def invoke(
        self, event: dict[str, Any], *, trigger: str = "direct", batch_size: int | None = None
    ) -> InvocationResult:
        self.events.append(event)
        self.times.append(time.monotonic())
        self.triggers.append((trigger, batch_size))
        request_id = str(uuid.uuid4())
        try:
            payload = self.handler(event)
        except Exception as exc:
            result = InvocationResult(
                ok=False,
                error={"errorType": type(exc).__name__, "errorMessage": str(exc)},
                request_id=request_id,
            )
        else:
            result = InvocationResult(ok=True, payload=payload, request_id=request_id)
        self.results.append(result)
        return result

    def offsets(self, index: int) -> list[tuple[int, int]]:
        """(partition, offset) of every record of invocation ``index``."""
        return [
            (r["partition"], r["offset"])
            for records in self.events[index]["records"].values()
            for r in records
        ]

    def succeeded_offsets(self) -> list[int]:
        out: list[int] = []
        for event, result in zip(self.events, self.results, strict=True):
            if result.ok:
                out += [r["offset"] for rs in event["records"].values() for r in rs]
        return out


def records_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for records in event["records"].values() for r in records]


def value_of(record: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(record["value"]))


def raise_if(predicate: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], None]:
    def handler(event: dict[str, Any]) -> None:
        if any(predicate(r) for r in records_of(event)):
            raise RuntimeError("poison record")

    return handler


@pytest.fixture
def mappings() -> Iterator[list[KafkaEventSourceMapping]]:
    made: list[KafkaEventSourceMapping] = []
    yield made
    for esm in made:
        esm.stop(timeout=5)


@pytest.fixture
def destinations(tmp_path: Path) -> Iterator[FailureDestinations]:
    dest = FailureDestinations(tmp_path / "state")
    yield dest
    dest.close()


@pytest.fixture
def esm_factory(
    kafka_bootstrap: str,
    mappings: list[KafkaEventSourceMapping],
    destinations: FailureDestinations,
    unique_name: Callable[[str], str],
) -> Callable[..., KafkaEventSourceMapping]:
    def make(
        topic: str | list[str],
        invoker: RecordingInvoker,
        *,
        event_type: str = "MSK",
        options: EsmOptions | None = None,
        **properties: Any,
    ) -> KafkaEventSourceMapping:
        props: dict[str, Any] = {
            "Topics": [topic] if isinstance(topic, str) else topic,
            "StartingPosition": "TRIM_HORIZON",
            "ConsumerGroupId": unique_name("group"),
            "MaximumBatchingWindowInSeconds": 0,
        }
        if event_type == "MSK":
            props["Stream"] = ARN
        else:
            props["KafkaBootstrapServers"] = [kafka_bootstrap]
        props.update(properties)
        controls = {
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
            "BisectBatchOnFunctionError",
        }
        if controls & set(props) or props.get("FunctionResponseTypes"):
            # AWS configures Kafka error handling controls in provisioned mode only
            props.setdefault("ProvisionedPollerConfig", {"MinimumPollers": 1, "MaximumPollers": 1})
        esm = KafkaEventSourceMapping(
            invoker.function_name,
            EventSpec("Source", event_type, props),
            invoker,
            kafka_bootstrap,
            destinations=destinations,
            log=lambda line: None,
            options=options or EsmOptions(**FAST),
        )
        mappings.append(esm)
        return esm

    return make


def produce(
    producer: KafkaProducer, topic: str, values: list[Any], partition: int = 0, **kw: Any
) -> None:
    for v in values:
        data = v if isinstance(v, bytes) else json.dumps(v).encode()
        producer.send(topic, value=data, partition=partition, **kw)
    producer.flush()


# ----------------------------------------------------------------------------------- event shape
def test_msk_event_shape_and_round_trip(make_topic, kafka_producer, kafka_bootstrap, esm_factory):
    topic = make_topic(partitions=2)
    ts = int(time.time() * 1000) - 5000
    headers = [("trace", b"abc"), ("bin", b"\xff\x00\x80\x7f\xc3")]
    kafka_producer.send(
        topic,
        key=b"acct-1",
        value=json.dumps({"n": 1, "s": "h\u00e9"}).encode(),
        partition=0,
        headers=headers,
        timestamp_ms=ts,
    )
    kafka_producer.send(topic, value=b'{"n": 2}', partition=1)
    kafka_producer.flush()

    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker)
    assert esm.run_until_idle(10)

    # records keyed by topic-partition; one event may hold both partitions
    assert sum(len(e["records"]) for e in invoker.events) == 2
    by_key = {k: v for e in invoker.events for k, v in e["records"].items()}
    assert set(by_key) == {f"{topic}-0", f"{topic}-1"}
    for event in invoker.events:
        assert event["eventSource"] == "aws:kafka"
        assert event["eventSourceArn"] == ARN
        assert event["bootstrapServers"] == kafka_bootstrap
        KafkaMskEventModel.model_validate(json.loads(json.dumps(event)))
    assert {t for t, _ in invoker.triggers} == {f"kafka:{topic}"}

    (rec,) = by_key[f"{topic}-0"]
    assert rec["topic"] == topic and rec["partition"] == 0 and rec["offset"] == 0
    assert rec["timestamp"] == ts and rec["timestampType"] == "CREATE_TIME"
    assert base64.b64decode(rec["key"]) == b"acct-1"
    assert value_of(rec) == {"n": 1, "s": "h\u00e9"}
    assert rec["headers"] == [{"trace": [97, 98, 99]}, {"bin": [-1, 0, -128, 127, -61]}]
    model = KafkaMskEventModel.model_validate(
        json.loads(json.dumps(next(e for e in invoker.events if f"{topic}-0" in e["records"])))
    )
    parsed = model.records[f"{topic}-0"][0]
    assert parsed.key == b"acct-1"
    assert parsed.headers == [{"trace": b"abc"}, {"bin": b"\xff\x00\x80\x7f\xc3"}]

    (rec1,) = by_key[f"{topic}-1"]
    assert "key" not in rec1 and rec1["headers"] == []
    assert value_of(rec1) == {"n": 2}


def test_self_managed_event_shape_and_binary_values(
    make_topic, kafka_producer, kafka_bootstrap, esm_factory
):
    topic = make_topic(partitions=2)
    binary = bytes(range(256))
    kafka_producer.send(topic, key=b"\x00\xff", value=b'{"ok": true}', partition=0)
    kafka_producer.send(topic, value=binary, partition=1, headers=[("raw", b"\x80\x81")])
    kafka_producer.flush()

    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker, event_type="SelfManagedKafka")
    assert esm.run_until_idle(10)

    assert sum(len(e["records"]) for e in invoker.events) == 2
    for event in invoker.events:
        assert event["eventSource"] == "SelfManagedKafka"
        assert "eventSourceArn" not in event
        assert event["bootstrapServers"] == kafka_bootstrap
    text_event = next(e for e in invoker.events if f"{topic}-0" in e["records"])
    text_event = {**text_event, "records": {f"{topic}-0": text_event["records"][f"{topic}-0"]}}
    model = KafkaSelfManagedEventModel.model_validate(json.loads(json.dumps(text_event)))
    assert model.records[f"{topic}-0"][0].key == b"\x00\xff"
    bin_event = next(e for e in invoker.events if f"{topic}-1" in e["records"])
    (rec,) = bin_event["records"][f"{topic}-1"]
    assert base64.b64decode(rec["value"]) == binary
    assert rec["headers"] == [{"raw": [-128, -127]}]


# ----------------------------------------------------------------------------------- failures
def test_failed_batch_is_not_committed_and_is_redelivered_whole(
    make_topic, kafka_producer, esm_factory, group_offsets
):
    topic = make_topic()
    produce(kafka_producer, topic, [{"i": i} for i in range(5)])
    calls = {"n": 0}

    def handler(event):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("transient")

    invoker = RecordingInvoker(handler)
    esm = esm_factory(topic, invoker)
    assert esm.run_until(lambda: len(invoker.events) >= 1, 10)
    assert group_offsets(esm.group_id, topic) == {0: None}

    assert esm.run_until_idle(10)
    assert len(invoker.events) == 3
    expected = [(0, i) for i in range(5)]
    assert [invoker.offsets(i) for i in range(3)] == [expected] * 3
    assert [r.ok for r in invoker.results] == [False, False, True]
    assert group_offsets(esm.group_id, topic) == {0: 5}
    assert esm.stats.failed_invocations == 2


def test_order_within_a_partition_survives_failures(
    make_topic, kafka_producer, esm_factory, group_offsets
):
    topic = make_topic()
    produce(kafka_producer, topic, [{"i": i} for i in range(250)])
    calls = {"n": 0}

    def handler(event):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise RuntimeError("every third invocation fails")

    invoker = RecordingInvoker(handler)
    esm = esm_factory(topic, invoker, BatchSize=40)
    assert esm.run_until_idle(15)
    for i in range(len(invoker.events)):
        offsets = [o for _, o in invoker.offsets(i)]
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
        assert len(offsets) <= 40
    assert invoker.succeeded_offsets() == list(range(250))
    values = [
        value_of(r)["i"]
        for e, res in zip(invoker.events, invoker.results, strict=True)
        if res.ok
        for r in records_of(e)
    ]
    assert values == list(range(250))
    assert group_offsets(esm.group_id, topic) == {0: 250}


def test_a_failing_partition_does_not_stop_the_others(
    make_topic, kafka_producer, esm_factory, group_offsets
):
    # GIVEN partition 0 holds a batch that keeps failing
    topic = make_topic(partitions=2)
    produce(kafka_producer, topic, [{"p": 0, "i": i} for i in range(5)], partition=0)
    invoker = RecordingInvoker(raise_if(lambda r: r["partition"] == 0))
    esm = esm_factory(topic, invoker)
    assert esm.run_until(lambda: len(invoker.events) >= 1, 10)
    # WHEN records arrive on partition 1 while partition 0 waits for its retry
    produce(kafka_producer, topic, [{"p": 1, "i": i} for i in range(5)], partition=1)

    def committed(partition: int) -> int | None:
        return {tp.partition: o for tp, o in esm.committed_offsets().items()}.get(partition)

    def p0_calls() -> list[int]:
        return [i for i in range(len(invoker.events)) if invoker.offsets(i)[0][0] == 0]

    assert esm.run_until(lambda: committed(1) == 5, 10)
    produce(kafka_producer, topic, [{"p": 1, "i": i} for i in range(5, 8)], partition=1)
    assert esm.run_until(lambda: committed(1) == 8 and len(p0_calls()) >= 3, 10)

    assert group_offsets(esm.group_id, topic, 2) == {0: None, 1: 8}
    assert all(invoker.offsets(i) == [(0, o) for o in range(5)] for i in p0_calls())
    assert not any(invoker.results[i].ok for i in p0_calls())


def test_a_recovered_partition_resumes_where_it_stopped_with_a_backlog(
    make_topic, kafka_producer, esm_factory, group_offsets
):
    topic = make_topic(partitions=3)
    for p in range(3):
        for i in range(1500):
            kafka_producer.send(topic, value=json.dumps({"p": p, "i": i}).encode(), partition=p)
    kafka_producer.flush()
    failures = {"left": 3}

    def handler(event):
        if f"{topic}-1" in event["records"] and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("partition 1 is not ready yet")

    invoker = RecordingInvoker(handler)
    options = EsmOptions(**FAST, max_poll_records=400)
    esm = esm_factory(topic, invoker, BatchSize=100, options=options)
    assert esm.run_until_idle(20)
    done: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for event, result in zip(invoker.events, invoker.results, strict=True):
        if result.ok:
            for r in records_of(event):
                done[r["partition"]].append(value_of(r)["i"])
    assert done == {p: list(range(1500)) for p in range(3)}
    assert group_offsets(esm.group_id, topic, 3) == {0: 1500, 1: 1500, 2: 1500}


def test_partial_batch_response_resumes_at_the_reported_offset(
    make_topic, kafka_producer, esm_factory, group_offsets
):
    topic = make_topic()
    produce(kafka_producer, topic, [{"i": i} for i in range(6)])
    replies = [
        {
            "batchItemFailures": [
                {"itemIdentifier": {"partition": f"{topic}-0", "offset": 4}},
                {"itemIdentifier": {"partition": f"{topic}-0", "offset": 2}},
            ]
        },
        {"batchItemFailures": []},
    ]
    invoker = RecordingInvoker(lambda event: replies.pop(0))
    esm = esm_factory(topic, invoker, FunctionResponseTypes=["ReportBatchItemFailures"])
    assert esm.run_until(lambda: len(invoker.events) == 1, 10)
    assert group_offsets(esm.group_id, topic) == {0: 2}
    assert esm.run_until_idle(10)
    assert [o for _, o in invoker.offsets(0)] == [0, 1, 2, 3, 4, 5]
    assert [o for _, o in invoker.offsets(1)] == [2, 3, 4, 5]
    assert len(invoker.events) == 2
    assert group_offsets(esm.group_id, topic) == {0: 6}


@pytest.mark.parametrize(
    "bad_reply",
    [
        {"batchItemFailures": [{"itemIdentifier": {"partition": "nope-0", "offset": 1}}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        "not an object",
    ],
)
def test_invalid_partial_batch_response_fails_the_whole_batch(
    make_topic, kafka_producer, esm_factory, bad_reply
):
    topic = make_topic()
    produce(kafka_producer, topic, [{"i": i} for i in range(3)])
    replies = [bad_reply, None]
    invoker = RecordingInvoker(lambda event: replies.pop(0))
    esm = esm_factory(topic, invoker, FunctionResponseTypes=["ReportBatchItemFailures"])
    assert esm.run_until_idle(10)
    assert [invoker.offsets(i) for i in range(len(invoker.events))] == [
        [(0, 0), (0, 1), (0, 2)]
    ] * 2


ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_retries_exhausted_go_to_the_sqs_destination_and_the_partition_moves_on(
    make_topic, kafka_producer, kafka_bootstrap, esm_factory, destinations, group_offsets
):
    topic = make_topic()
    produce(kafka_producer, topic, [{"i": i, "poison": i == 1} for i in range(6)])
    invoker = RecordingInvoker(raise_if(lambda r: value_of(r)["poison"]))
    esm = esm_factory(
        topic,
        invoker,
        BatchSize=3,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Type": "SQS", "Destination": QUEUE_ARN}},
    )
    assert isinstance(esm.destination, SqsFileDestination)
    assert esm.run_until_idle(10)

    assert [invoker.offsets(i) for i in range(4)] == [[(0, 0), (0, 1), (0, 2)]] * 3 + [
        [(0, 3), (0, 4), (0, 5)]
    ]
    assert group_offsets(esm.group_id, topic) == {0: 6}
    failures = destinations.read_queue("FailQueue")
    assert destinations.read_queue(QUEUE_ARN) == failures
    assert [f["KafkaBatchInfo"]["recordInfo"]["offset"] for f in failures] == ["0", "1", "2"]
    last_request = invoker.results[2].request_id
    for failure in failures:
        assert failure["requestContext"] == {
            "requestId": last_request,
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:TestFunction",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        }
        assert failure["responseContext"] == {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        assert failure["version"] == "1.0"
        assert ISO_MS.match(failure["timestamp"])
        info = failure["KafkaBatchInfo"]
        assert info["batchSize"] == 1
        assert info["eventSourceArn"] == ARN
        assert info["bootstrapServers"] == kafka_bootstrap
        assert info["payloadSize"] == len(json.dumps(failure["payload"]).encode())
        assert ISO_MS.match(info["recordInfo"]["timestamp"])
        payload = KafkaMskEventModel.model_validate(failure["payload"])
        (rec,) = payload.records[f"{topic}-0"]
        assert str(rec.offset) == info["recordInfo"]["offset"]


def test_kafka_topic_destination_keeps_the_record_key(
    make_topic, kafka_producer, esm_factory, read_topic, unique_name, group_offsets
):
    topic = make_topic()
    dlq = unique_name("dlq")
    kafka_producer.send(topic, key=b"k1", value=b'{"bad": true}', partition=0)
    kafka_producer.send(topic, key=b"k2", value=b'{"bad": false}', partition=0)
    kafka_producer.flush()
    invoker = RecordingInvoker(raise_if(lambda r: value_of(r)["bad"]))
    esm = esm_factory(
        topic,
        invoker,
        BatchSize=1,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": f"kafka://{dlq}"}},
    )
    assert isinstance(esm.destination, KafkaTopicDestination)
    assert esm.run_until_idle(10)
    (msg,) = read_topic(dlq, 1)
    assert msg.key == b"k1"
    failure = json.loads(msg.value)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["KafkaBatchInfo"]["recordInfo"]["offset"] == "0"
    assert list(failure["payload"]["records"]) == [f"{topic}-0"]
    assert invoker.succeeded_offsets() == [1]
    assert group_offsets(esm.group_id, topic) == {0: 2}


def test_destination_resolution(make_topic, esm_factory, destinations, kafka_bootstrap):
    topic = make_topic()
    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker, DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}})
    assert esm.max_retries == 10  # infinite retries are capped with a destination, as on AWS
    for bad in (
        "arn:aws:sns:us-east-1:123456789012:topic",
        "arn:aws:s3:::bucket",
        "plain-topic-name",
        f"kafka://{topic}",  # same as the source topic
        ARN,  # MSK cluster without a configured topic
    ):
        with pytest.raises(DestinationError):
            esm_factory(topic, invoker, DestinationConfig={"OnFailure": {"Destination": bad}})
    msk = FailureDestinations(destinations.state_dir, cluster_topics={ARN: "failures"})
    dest = msk.resolve(ARN, bootstrap_servers=kafka_bootstrap, source_topics=[topic])
    assert isinstance(dest, KafkaTopicDestination) and dest.topic == "failures"
    with pytest.raises(EsmConfigError):
        esm_factory(topic, invoker, StartingPosition="SOMEWHERE")
    with pytest.raises(EsmConfigError):
        esm_factory(topic, invoker, BatchSize=0)


def test_bisect_isolates_a_poison_record(
    make_topic, kafka_producer, esm_factory, destinations, group_offsets
):
    topic = make_topic()
    produce(kafka_producer, topic, [{"i": i} for i in range(8)])
    invoker = RecordingInvoker(raise_if(lambda r: value_of(r)["i"] == 5))
    esm = esm_factory(
        topic,
        invoker,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}},
    )
    assert esm.run_until_idle(10)
    failures = destinations.read_queue("FailQueue")
    assert [f["KafkaBatchInfo"]["recordInfo"]["offset"] for f in failures] == ["5"]
    assert sorted(invoker.succeeded_offsets()) == [0, 1, 2, 3, 4, 6, 7]
    batch_sizes = [len(records_of(e)) for e in invoker.events]
    assert batch_sizes[0] == 8 and 1 in batch_sizes
    assert group_offsets(esm.group_id, topic) == {0: 8}


def test_old_records_go_to_the_destination_without_an_invocation(
    make_topic, kafka_producer, esm_factory, destinations
):
    topic = make_topic()
    old = int(time.time() * 1000) - 120_000
    kafka_producer.send(topic, value=b'{"old": true}', partition=0, timestamp_ms=old)
    kafka_producer.send(topic, value=b'{"old": false}', partition=0)
    kafka_producer.flush()
    invoker = RecordingInvoker()
    esm = esm_factory(
        topic,
        invoker,
        MaximumRecordAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}},
    )
    assert esm.run_until_idle(10)
    assert invoker.succeeded_offsets() == [1]
    (failure,) = destinations.read_queue("FailQueue")
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 0
    assert failure["responseContext"] is None
    assert failure["KafkaBatchInfo"]["recordInfo"]["offset"] == "0"


# ----------------------------------------------------------------------------------- filtering
def test_filter_criteria_over_kafka(make_topic, kafka_producer, esm_factory, group_offsets):
    topic = make_topic()
    values: list[Any] = [
        {"status": "FRAUD", "amount": 150, "meta": {"country": "DE"}},  # 0: rule 1
        {"status": "OK", "amount": 10, "meta": {"country": "DE"}},
        b"not json at all",
        {"status": "OK", "amount": 5, "meta": {"country": "US"}},  # 3: rule 2
        {"status": "FRAUD", "amount": 50, "meta": {"country": "DE"}},
        {"status": "OK"},  # 5: filtered out, yet committed
    ]
    produce(kafka_producer, topic, values)
    criteria = {
        "Filters": [
            {"Pattern": '{"value": {"status": ["FRAUD"], "amount": [{"numeric": [">", 100]}]}}'},
            {"Pattern": json.dumps({"value": {"meta": {"country": [{"anything-but": ["DE"]}]}}})},
        ]
    }
    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker, FilterCriteria=criteria)
    assert esm.run_until_idle(10)
    assert invoker.succeeded_offsets() == [0, 3]
    assert esm.stats.records_filtered == 4
    assert group_offsets(esm.group_id, topic) == {0: 6}


DOC = {
    "id": "AB-123",
    "amount": 42.5,
    "flag": True,
    "none": None,
    "tags": ["red", "blue"],
    "items": [{"sku": "x1", "qty": 2}, {"sku": "y9", "qty": 0}],
    "nested": {"deep": {"name": "Ada"}},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"id": ["AB-123"]}, True),
        ({"id": ["ab-123"]}, False),
        ({"id": [{"prefix": "AB"}]}, True),
        ({"id": [{"prefix": {"equals-ignore-case": "ab"}}]}, True),
        ({"id": [{"suffix": "123"}]}, True),
        ({"id": [{"suffix": "12"}]}, False),
        ({"id": [{"equals-ignore-case": "ab-123"}]}, True),
        ({"id": [{"wildcard": "AB-*3"}]}, True),
        ({"id": [{"anything-but": ["AB-123", "x"]}]}, False),
        ({"id": [{"anything-but": {"prefix": "ZZ"}}]}, True),
        ({"amount": [{"numeric": [">", 40, "<=", 42.5]}]}, True),
        ({"amount": [{"numeric": ["<", 40]}]}, False),
        ({"amount": [42.5]}, True),
        ({"amount": ["42.5"]}, False),
        ({"flag": [True]}, True),
        ({"flag": [1]}, False),
        ({"none": [None]}, True),
        ({"missing": [None]}, False),
        ({"missing": [{"exists": False}]}, True),
        ({"id": [{"exists": True}]}, True),
        ({"id": [{"exists": False}]}, False),
        ({"tags": ["blue"]}, True),
        ({"tags": ["green"]}, False),
        ({"items": {"sku": ["y9"]}}, True),
        ({"items": {"qty": [{"numeric": [">", 5]}]}}, False),
        ({"nested": {"deep": {"name": ["Ada"]}}}, True),
        ({"nested": {"deep": {"name": ["Bob"]}}}, False),
        ({"nested": {"absent": {"x": [{"exists": False}]}}}, True),
        ({"$or": [{"id": ["nope"]}, {"flag": [True]}]}, True),
        ({"id": [{"prefix": "AB"}], "flag": [False]}, False),
    ],
)
def test_filter_patterns(pattern, expected):
    matches = compile_filters({"Filters": [{"Pattern": json.dumps({"value": pattern})}]})
    assert matches is not None
    assert matches(json.dumps(DOC).encode()) is expected
    assert matches(b"\xff not json") is False
    assert matches(None) is False


@pytest.mark.parametrize(
    "pattern",
    [
        '{"key": {"a": ["b"]}}',
        '{"value": {"a": "not-a-list"}}',
        '{"value": {"a": [{"cidr": "10.0.0.0/8"}]}}',
        '{"value": {"a": [{"numeric": [">"]}]}}',
        "{not json",
    ],
)
def test_invalid_filter_patterns_are_rejected(pattern):
    with pytest.raises(FilterError):
        compile_filters({"Filters": [{"Pattern": pattern}]})


# ----------------------------------------------------------------------------------- batching
def test_batch_size_and_batching_window(make_topic, kafka_producer, esm_factory):
    topic = make_topic()
    produce(kafka_producer, topic, [{"i": i} for i in range(25)])
    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker, BatchSize=10, MaximumBatchingWindowInSeconds=1)
    assert esm.run_until_idle(10)
    assert [len(records_of(e)) for e in invoker.events] == [10, 10, 5]
    assert [b for _, b in invoker.triggers] == [10, 10, 5]
    assert invoker.times[2] - invoker.times[1] >= 0.9  # the last, partial batch waited

    topic2 = make_topic()
    invoker2 = RecordingInvoker()
    esm2 = esm_factory(topic2, invoker2, BatchSize=100, MaximumBatchingWindowInSeconds=1)
    esm2.open()
    esm2.poll_once(0.2)  # assigned and fetching: nothing there yet
    started = time.monotonic()
    produce(kafka_producer, topic2, [{"i": i} for i in range(3)])
    assert esm2.run_until_idle(10)
    assert [len(records_of(e)) for e in invoker2.events] == [3]
    waited = invoker2.times[0] - started
    assert 0.95 <= waited < 2.5  # whole seconds, as AWS takes them


def test_the_6mb_payload_limit_splits_batches(make_topic, kafka_producer, esm_factory):
    topic = make_topic()
    blobs = [bytes([65 + i]) * 1_600_000 for i in range(4)]  # ~2.1 MB each once base64-encoded
    produce(kafka_producer, topic, blobs)
    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker, BatchSize=100, MaximumBatchingWindowInSeconds=1)
    assert esm.run_until_idle(20)
    assert [len(records_of(e)) for e in invoker.events] == [2, 2]
    for event in invoker.events:
        assert len(json.dumps(event).encode()) <= MAX_PAYLOAD_BYTES
    got = [base64.b64decode(r["value"]) for e in invoker.events for r in records_of(e)]
    assert got == blobs


def test_a_record_over_the_payload_limit_goes_to_the_destination(
    make_topic, kafka_producer, esm_factory, destinations
):
    topic = make_topic()
    produce(kafka_producer, topic, [b"a" * 3000, b"b" * 3000, b"c" * 20_000, b"d" * 3000])
    invoker = RecordingInvoker()
    esm = esm_factory(
        topic,
        invoker,
        options=EsmOptions(**FAST, max_payload_bytes=10_000),
        DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}},
    )
    assert esm.run_until_idle(10)
    assert [[o for _, o in invoker.offsets(i)] for i in range(len(invoker.events))] == [[0, 1], [3]]
    for event in invoker.events:
        assert len(json.dumps(event).encode()) <= 10_000
    (failure,) = destinations.read_queue("FailQueue")
    assert failure["requestContext"]["condition"] == "MaximumPayloadSizeExceeded"
    assert failure["responseContext"] is None
    assert failure["KafkaBatchInfo"]["recordInfo"]["offset"] == "2"


# ----------------------------------------------------------------------------------- positions
def test_restart_resumes_from_committed_offsets(
    make_topic, kafka_producer, esm_factory, group_offsets, unique_name
):
    topic = make_topic()
    group = unique_name("group")
    produce(kafka_producer, topic, [{"i": i} for i in range(20)])
    first = RecordingInvoker(raise_if(lambda r: value_of(r)["i"] >= 10))
    esm1 = esm_factory(topic, first, ConsumerGroupId=group, BatchSize=5)
    assert esm1.run_until(lambda: len(first.events) >= 4 and not first.results[-1].ok, 10)
    esm1.stop()
    assert group_offsets(group, topic) == {0: 10}
    assert first.succeeded_offsets() == list(range(10))

    produce(kafka_producer, topic, [{"i": i} for i in range(20, 30)])
    second = RecordingInvoker()
    # StartingPosition is ignored: the group has committed offsets
    esm2 = esm_factory(topic, second, ConsumerGroupId=group, BatchSize=5, StartingPosition="LATEST")
    assert esm2.run_until_idle(10)
    assert second.succeeded_offsets() == list(range(10, 30))
    assert group_offsets(group, topic) == {0: 30}


def test_starting_position_latest(make_topic, kafka_bootstrap, kafka_producer, esm_factory):
    topic = make_topic()
    # several records in one produce request: one record batch on the broker
    batched = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=200, acks="all")
    try:
        for i in range(5):
            batched.send(topic, value=json.dumps({"i": i}).encode(), partition=0)
        batched.flush()
    finally:
        batched.close()
    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker, StartingPosition="LATEST")
    esm.open()
    assert list(esm.committed_offsets().values()) == [5]
    produce(kafka_producer, topic, [{"i": i} for i in range(5, 8)])
    assert esm.run_until_idle(10)
    assert invoker.succeeded_offsets() == [5, 6, 7]


def test_background_thread_start_and_stop(make_topic, kafka_producer, esm_factory, group_offsets):
    topic = make_topic()
    invoker = RecordingInvoker()
    esm = esm_factory(topic, invoker)
    esm.start()
    assert esm.running
    with pytest.raises(RuntimeError):
        esm.poll_once()
    produce(kafka_producer, topic, [{"i": i} for i in range(30)])
    deadline = time.monotonic() + 10
    while len(invoker.succeeded_offsets()) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert esm.stop(5)
    assert not esm.running
    assert invoker.succeeded_offsets() == list(range(30))
    assert group_offsets(esm.group_id, topic) == {0: 30}


# ----------------------------------------------------------------------------------- template
def test_mapping_from_the_template(
    make_topic, kafka_producer, kafka_bootstrap, destinations, mappings, unique_name
):
    topic = make_topic(name=unique_name("transactions"))
    tpl = template(TransactionsTopic=topic, ConsumerBatchingWindow=0)
    (event,) = tpl.functions()["AccountConsumerFunction"].events_of("MSK")
    invoker = RecordingInvoker()
    esm = KafkaEventSourceMapping(
        "AccountConsumerFunction",
        event,
        invoker,
        kafka_bootstrap,
        destinations=destinations,
        log=lambda line: None,
        options=EsmOptions(**FAST),
    )
    mappings.append(esm)
    assert esm.group_id == "account-group"
    assert esm.topics == (topic,)
    assert esm.report_batch_item_failures and esm.batch_size == 100
    assert esm.max_retries == 10
    assert isinstance(esm.destination, SqsFileDestination)
    # the queue CloudFormation would name (its QueueName attribute)
    assert esm.destination.queue_name == tpl.get_att("ConsumerFailureQueue", "QueueName")
    assert esm.destination.queue_name.startswith("eventflow-local-ConsumerFailureQueue-")
    produce(kafka_producer, topic, [{"i": 1}, {"i": 2}])
    assert esm.run_until_idle(10)
    (delivered,) = invoker.events
    assert delivered["eventSourceArn"] == ARN
    KafkaMskEventModel.model_validate(json.loads(json.dumps(delivered)))


# ----------------------------------------------------------------------------------- broker
def test_broker_errors_are_clear(kafka_broker):
    with pytest.raises(BrokerError, match="not an executable"):
        EmbeddedBroker(binary="/nonexistent/tansu").start()
    if kafka_broker is not None:
        with pytest.raises(BrokerError, match="busy"):
            EmbeddedBroker(port=kafka_broker.port).start()
