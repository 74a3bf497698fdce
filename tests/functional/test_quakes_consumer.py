"""quake_consumer: each event stored once, region aggregates, alerts at the threshold (stored and
published keyed by region), malformed records parked, transient failures retried."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventflow.kafka.events import parse_kafka_event
from eventflow.quakes.adapters.store import QuakeLedger
from eventflow.quakes.settings import QuakeSettings
from eventflow.quakes.wiring import quake_consumer
from tests.functional.quakes_support import ALERTS_TOPIC, FakePublisher, QuakeTopic, batch
from tests.support import ApiClient, Function

EVENTS = Path(__file__).resolve().parents[2] / "events"


@dataclass
class Consumer:
    fn: Function
    publisher: FakePublisher

    def __call__(self, event: dict[str, Any]) -> Any:
        return self.fn(event)

    @property
    def env(self) -> dict[str, str]:
        return self.fn.env

    def ledger(self, client: Any) -> QuakeLedger:
        env = self.env
        return QuakeLedger(
            env["QUAKES_TABLE"], env["QUAKE_REGIONS_TABLE"], env["QUAKE_ALERTS_TABLE"], client
        )

    def pipeline(self, ledger: QuakeLedger, publisher: FakePublisher | None = None) -> Any:
        settings = QuakeSettings.from_env(self.env)
        return quake_consumer(settings, publisher or self.publisher, ledger)

    def use(self, ledger: QuakeLedger) -> None:
        """Give the function this ledger, through its cached ``pipeline`` dependency."""
        pipeline = self.pipeline(ledger)
        self.fn.module.pipeline = lambda: pipeline


def make_consumer(tpl: Any, **env: str) -> Consumer:
    fn = Function(tpl, "QuakeConsumerFunction", env or None)
    publisher = FakePublisher()
    fn.module.publisher = cache(lambda: publisher)
    return Consumer(fn, publisher)


@pytest.fixture
def consumer(tpl, aws) -> Consumer:
    return make_consumer(tpl)


@pytest.fixture
def api(tpl, aws) -> ApiClient:
    return ApiClient(
        tpl, {lid: Function(tpl, lid) for lid in ("QuakesApiFunction", "DeadLettersApiFunction")}
    )


@pytest.fixture
def topic() -> QuakeTopic:
    return QuakeTopic()


def stored(aws, consumer: Consumer) -> list[dict[str, Any]]:
    return aws.scan(TableName=consumer.env["QUAKES_TABLE"])["Items"]


def region(api: ApiClient, key: str) -> dict[str, Any]:
    _, body = api.get("/earthquakes/regions")
    return next(r for r in body["items"] if r["region"] == key)


# ---------------------------------------------------------------------------------- storing
def test_each_event_is_stored_and_can_be_read_back(consumer, api, topic):
    quakes = [topic.quake() for _ in range(20)]
    resp = consumer(batch(topic.record(q, partition=i % 3) for i, q in enumerate(quakes)))
    assert resp == {"batchItemFailures": []}
    for q in quakes:
        code, body = api.get(f"/earthquakes/{q.id}")
        assert code == 200
        assert body["magnitude"] == q.magnitude and body["region"] == q.region
        assert body["location"] == q.location.model_dump() and body["depthKm"] == q.depthKm
        assert body["timestamp"] == q.timestamp and body["time"].endswith("Z")
        assert body["alert"] is (q.magnitude >= 6.0)


def test_a_redelivered_batch_is_stored_once(aws, consumer, api, topic):
    quakes = [topic.quake(region="andes") for _ in range(30)]
    event = batch(topic.record(q) for q in quakes)
    assert consumer(event) == {"batchItemFailures": []}
    assert consumer(event) == {"batchItemFailures": []}  # the ESM retries after a timeout
    assert len(stored(aws, consumer)) == 30
    assert region(api, "andes")["count"] == 30


def test_the_same_event_twice_in_one_batch_is_stored_once(aws, consumer, api, topic):
    q = topic.quake(region="andes")
    assert consumer(batch([topic.record(q), topic.record(q), topic.record(q, partition=1)])) == {
        "batchItemFailures": []
    }
    assert len(stored(aws, consumer)) == 1
    assert region(api, "andes")["count"] == 1


def test_overlapping_redelivery_counts_only_new_events(aws, consumer, api, topic):
    quakes = [topic.quake(region="himalaya") for _ in range(10)]
    consumer(batch(topic.record(q) for q in quakes[:6]))
    consumer(batch(topic.record(q) for q in quakes[3:]))  # 3 already stored, 4 new
    assert len(stored(aws, consumer)) == 10
    assert region(api, "himalaya")["count"] == 10


def test_a_large_batch_in_one_region(aws, consumer, api, topic):
    quakes = [topic.quake(region="japan-kuril-kamchatka") for _ in range(250)]
    assert consumer(batch(topic.record(q) for q in quakes)) == {"batchItemFailures": []}
    assert len(stored(aws, consumer)) == 250
    assert region(api, "japan-kuril-kamchatka")["count"] == 250


def test_few_round_trips_per_batch(consumer, aws, topic):
    ledger = consumer.ledger(aws)
    pipeline = consumer.pipeline(ledger, FakePublisher())
    records = [topic.record(topic.quake(magnitude=1.0)) for _ in range(80)]
    result = pipeline.process(parse_kafka_event(batch(records)).records)
    assert len(result.outcome.applied) == 80
    regions = {json.loads(r.value)["region"] for r in records}
    # one BatchGetItem (80 events + the regions), then four BatchWriteItem (25 items each) in
    # parallel, then one TransactWriteItems for every region: three round trips
    assert len(regions) > 1
    assert ledger.round_trips == 3
    assert ledger.requests == 1 + 4 + 1


# ---------------------------------------------------------------------------------- aggregates
def test_region_aggregates(consumer, api, topic):
    quakes = [
        topic.quake(region="andes", magnitude=2.5, timestamp=1_764_072_001_000),
        topic.quake(region="andes", magnitude=6.1, timestamp=1_764_072_003_000),
        topic.quake(region="andes", magnitude=4.0, timestamp=1_764_072_002_000),
        topic.quake(region="caribbean", magnitude=1.2, timestamp=1_764_072_004_000),
    ]
    consumer(batch(topic.record(q) for q in quakes[:2]))
    consumer(batch(topic.record(q) for q in quakes[2:]))
    andes = region(api, "andes")
    assert andes == {
        "region": "andes",
        "name": "Andes (Colombia to southern Chile)",
        "count": 3,
        "alertCount": 1,
        "maxMagnitude": 6.1,
        "maxMagnitudeEventId": quakes[1].id,
        "meanMagnitude": 4.2,
        "firstEventAt": "2025-11-25T12:00:01.000Z",
        "lastEventAt": "2025-11-25T12:00:03.000Z",
        "lastEventId": quakes[1].id,
        "updatedAt": andes["updatedAt"],
    }
    assert region(api, "caribbean")["count"] == 1
    _, body = api.get("/earthquakes/regions")
    assert [r["region"] for r in body["items"]] == ["andes", "caribbean"]  # busiest first


# ---------------------------------------------------------------------------------- alerts
def test_alerts_at_or_above_the_threshold_are_stored_and_published_by_region(consumer, api, topic):
    quakes = [topic.quake(magnitude=m) for m in (5.9, 6.0, 7.4, 3.1, 8.8)]
    consumer(batch(topic.record(q) for q in quakes))
    alerts = consumer.publisher.messages
    assert [json.loads(m.value)["magnitude"] for m in alerts] == [6.0, 7.4, 8.8]
    for msg in alerts:
        payload = json.loads(msg.value)
        assert msg.topic == ALERTS_TOPIC and msg.key == payload["region"].encode()
        assert dict(msg.headers) == {
            "eventId": payload["id"].encode(),
            "eventType": b"EarthquakeAlert",
        }
        assert payload["threshold"] == 6.0 and payload["eventId"] == payload["id"]
    assert {json.loads(m.value)["severity"] for m in alerts} == {"strong", "major", "great"}
    code, body = api.get("/earthquakes/alerts")
    assert code == 200
    assert [a["magnitude"] for a in body["items"]] == [8.8, 7.4, 6.0]  # newest first
    assert {a["id"] for a in body["items"]} == {q.id for q in quakes if q.magnitude >= 6.0}
    assert all("listKey" not in a and "sortKey" not in a for a in body["items"])


def test_a_redelivered_alert_is_neither_stored_nor_published_twice(consumer, api, topic):
    event = batch([topic.record(topic.quake(magnitude=7.0))])
    consumer(event)
    consumer(event)
    assert len(consumer.publisher.messages) == 1
    _, body = api.get("/earthquakes/alerts")
    assert len(body["items"]) == 1


def test_the_threshold_comes_from_the_environment(tpl, aws, topic):
    consumer = make_consumer(tpl, QUAKE_ALERT_MAGNITUDE="4.5")
    consumer(batch(topic.record(topic.quake(magnitude=m)) for m in (4.4, 4.5, 5.0)))
    assert [json.loads(m.value)["magnitude"] for m in consumer.publisher.messages] == [4.5, 5.0]


def test_when_alerts_cannot_be_published_nothing_is_stored_and_the_batch_is_retried(
    aws, consumer, api, topic
):
    event = batch(topic.record(topic.quake(magnitude=m)) for m in (1.0, 6.5))
    consumer.publisher.fail_next = 1
    with pytest.raises(Exception, match="Kafka publish failed"):
        consumer(event)
    assert stored(aws, consumer) == []
    assert consumer(event) == {"batchItemFailures": []}  # the retry
    assert len(stored(aws, consumer)) == 2 and len(consumer.publisher.messages) == 1


# ---------------------------------------------------------------------------------- failures
def test_malformed_records_are_dead_lettered_and_the_partition_moves_on(aws, consumer, api, topic):
    good = [topic.quake(), topic.quake()]
    records = [
        topic.record(good[0]),
        topic.raw(b"{not json"),
        topic.json(
            {
                "id": "x1",
                "magnitude": 11,
                "location": {"latitude": 0, "longitude": 0},
                "timestamp": 1,
            }
        ),
        topic.json({"magnitude": 2.0, "location": {"latitude": 0, "longitude": 0}, "timestamp": 1}),
        topic.json([1, 2, 3]),
        topic.raw(None),
        topic.record(good[1]),
    ]
    assert consumer(batch(records)) == {"batchItemFailures": []}
    assert {i["id"]["S"] for i in stored(aws, consumer)} == {q.id for q in good}
    code, body = api.get("/dead-letters")
    assert code == 200
    letters = {d["offset"]: d for d in body["items"]}
    assert set(letters) == {1, 2, 3, 4, 5}
    assert letters[1]["reason"] == "MALFORMED" and "not valid JSON" in letters[1]["message"]
    assert letters[2]["reason"] == "SCHEMA" and "magnitude" in letters[2]["message"]
    assert letters[3]["reason"] == "SCHEMA" and "id" in letters[3]["message"]
    assert letters[4]["reason"] == "MALFORMED" and "expected an object" in letters[4]["message"]
    assert letters[5]["reason"] == "MALFORMED" and "empty" in letters[5]["message"]
    assert all(d["function"] == "QuakeConsumerFunction" for d in letters.values())


def test_seed_shaped_events_get_a_region_from_the_key_or_the_location(consumer, api, topic):
    seed = {
        "id": "seed-1",
        "magnitude": 4.2,
        "location": {"latitude": 38.3, "longitude": 142.4},
        "timestamp": 1_764_072_000_000,
    }
    keyed = {**seed, "id": "seed-2"}
    consumer(batch([topic.json(seed), topic.json(keyed, key="caribbean")]))
    assert api.get("/earthquakes/seed-1")[1]["region"] == "japan-kuril-kamchatka"
    assert api.get("/earthquakes/seed-2")[1]["region"] == "caribbean"
    assert "depthKm" not in api.get("/earthquakes/seed-1")[1]


class ThrottledTransactions:
    """A DynamoDB client whose first TransactWriteItems calls are throttled."""

    def __init__(self, client: Any, failures: int) -> None:
        self.client = client
        self.failures = failures

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                "TransactWriteItems",
            )
        return self.client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_events_stored_but_not_yet_counted_are_counted_once_on_redelivery(
    aws, consumer, api, topic
):
    """The aggregates' transaction is throttled after the events were written: every record is
    reported for retry, and the redelivery counts each event exactly once."""
    japan = [topic.quake(region="japan-kuril-kamchatka") for _ in range(60)]
    andes = [topic.quake(region="andes", magnitude=6.5) for _ in range(3)]
    records = [topic.record(q, partition=0) for q in japan] + [
        topic.record(q, partition=1) for q in andes
    ]
    consumer.use(consumer.ledger(ThrottledTransactions(aws, failures=1)))
    with pytest.raises(Exception, match="ThrottlingException"):
        consumer(batch(records))  # nothing counted at all: the whole batch is retried
    assert len(stored(aws, consumer)) == 63  # stored, not counted
    assert consumer(batch(records)) == {"batchItemFailures": []}
    assert len(stored(aws, consumer)) == 63
    assert region(api, "japan-kuril-kamchatka")["count"] == 60
    assert region(api, "andes")["count"] == 3 and region(api, "andes")["alertCount"] == 3
    assert consumer(batch(records)) == {"batchItemFailures": []}  # once more: nothing changes
    assert region(api, "japan-kuril-kamchatka")["count"] == 60


def test_a_conflicting_writer_makes_the_region_read_again(aws, consumer, api, topic):
    """Another invocation commits the region between our read and our commit: ours is cancelled
    for that region, read again and committed on top of it."""
    first = [topic.quake(region="andes") for _ in range(5)]
    second = [topic.quake(region="andes") for _ in range(4)]
    consumer(batch(topic.record(q) for q in first[:2]))
    ledger = consumer.ledger(aws)
    other = consumer.pipeline(consumer.ledger(aws), FakePublisher())
    other_records = [topic.record(q, partition=1) for q in second]
    commit = ledger.commit

    def commit_after_the_other(aggregates):
        if other_records:
            other.process(parse_kafka_event(batch(other_records)).records)
            other_records.clear()
        return commit(aggregates)

    ledger.commit = commit_after_the_other  # type: ignore[method-assign]
    consumer.use(ledger)
    assert consumer(batch(topic.record(q) for q in first[2:])) == {"batchItemFailures": []}
    assert region(api, "andes")["count"] == 9
    assert len(stored(aws, consumer)) == 9


def test_when_nothing_can_be_written_the_whole_batch_fails(aws, consumer, topic):
    consumer.use(consumer.ledger(ThrottledTransactions(aws, failures=100)))
    with pytest.raises(Exception, match="ThrottlingException"):
        consumer(batch([topic.record(topic.quake())]))


def test_an_event_that_is_not_a_kafka_batch_fails_the_invocation(consumer):
    with pytest.raises(ValueError, match="records"):
        consumer({"hello": "world"})


# ---------------------------------------------------------------------------------- event files
@pytest.mark.parametrize("name", ["quake_consumer_msk.json", "quake_consumer_self_managed.json"])
def test_event_files_are_consumed(aws, consumer, api, name):
    event = json.loads((EVENTS / name).read_text())
    assert consumer(event) == {"batchItemFailures": []}
    assert len(stored(aws, consumer)) == 3
    assert len(consumer.publisher.messages) == 1  # the 6.8
    get = json.loads((EVENTS / "quakes_get.json").read_text())
    code, body = api.get(get["path"])
    assert code == 200 and body["magnitude"] == 6.8
