"""The earthquake stream end to end on the local stack: HTTP start/stop, the emitter invoked at
once through the Lambda Invoke API, the real Kafka protocol, the event source mapping feeding the
consumer, moto DynamoDB, and the query API."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_dev.demo import http_json
from eventflow_local.stack import Stack
from tests.integration.faults import read_all

pytestmark = [pytest.mark.integration, pytest.mark.alone]

QUAKES_TOPIC = "earthquake-service-topic"
ALERTS_TOPIC = "earthquake-alerts-topic"
THRESHOLD = 6.0  # the template's AlertMagnitude default


class QuakeStack:
    def __init__(self, state_dir: Path) -> None:
        self.lines: list[str] = []
        self.stack = Stack(port=0, state_dir=state_dir, log=self.lines.append, environ={}).start()

    def call(self, method: str, path: str, body: Any = None, expect: int | None = 200) -> Any:
        status, payload = http_json(method, self.stack.api_url + path, body)
        if expect is not None:
            assert status == expect, f"{method} {path} -> {status}: {payload}"
        return payload

    def count(self, logical_id: str) -> int:
        client = self.stack.dynamodb_client()
        table = self.stack.table_name(logical_id)
        total, kwargs = 0, {"TableName": table, "Select": "COUNT"}
        while True:
            resp = client.scan(**kwargs)
            total += resp["Count"]
            if "LastEvaluatedKey" not in resp:
                return total
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def scan(self, logical_id: str) -> list[dict[str, Any]]:
        client = self.stack.dynamodb_client()
        items, kwargs = [], {"TableName": self.stack.table_name(logical_id)}
        while True:
            resp = client.scan(**kwargs)
            items.extend(resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def topic(self, topic: str) -> list[Any]:
        """Every record of ``topic``, read to its end with a manual assignment."""
        return read_all(self.stack.bootstrap_servers, topic)


@pytest.fixture(scope="module")
def quakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuakeStack]:
    q = QuakeStack(tmp_path_factory.mktemp("quakes-state"))
    try:
        yield q
    finally:
        q.stack.stop()


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def stop_and_settle(q: QuakeStack) -> None:
    """Stop the stream and wait until the emitter has let go of it."""
    q.call("POST", "/earthquake-events/stop")
    wait_for(
        lambda: not q.call("GET", "/earthquake-events")["emitterActive"],
        10,
        "the emitter to end its run",
    )


def first_event_delay(quakes: QuakeStack) -> float:
    """Seconds from sending a start to its first event being returned by GET /earthquakes."""
    sent = time.time()
    body = quakes.call("POST", "/earthquake-events/start", {"rate": 20})
    assert body["started"] is True and body["message"].endswith("emitter invoked")
    since = str(int(sent * 1000) - 5)
    try:
        first = wait_for(
            lambda: quakes.call("GET", f"/earthquakes?since={since}&limit=1")["items"],
            10,
            "the first event",
        )
        assert first[0]["timestamp"] >= int(since)
        return time.time() - sent
    finally:
        stop_and_settle(quakes)


def test_events_appear_in_the_api_within_a_second_of_start(quakes):
    first_event_delay(quakes)  # cold: the emitter and the consumer start their environments
    warm = sorted(first_event_delay(quakes) for _ in range(3))
    assert warm[1] < 1.0, f"first event visible after {warm} s"  # the median of three
    assert warm[-1] < 3.0, f"first event visible after {warm} s"


def test_a_high_rate_stream_is_stored_exactly_once_and_alerts_match_the_threshold(quakes):
    stop_and_settle(quakes)  # whatever an earlier test left running
    emitted_before = len(quakes.topic(QUAKES_TOPIC))
    body = quakes.call("POST", "/earthquake-events/start", {"rate": 500, "magnitudes": "uniform"})
    assert body["started"] is True
    again = quakes.call("POST", "/earthquake-events/start", {"rate": 500, "magnitudes": "uniform"})
    assert again["alreadyRunning"] is True  # idempotent: still one stream
    time.sleep(3)
    stopped = quakes.call("POST", "/earthquake-events/stop")
    assert stopped["stopped"] is True
    assert quakes.call("POST", "/earthquake-events/stop")["stopped"] is False
    wait_for(
        lambda: not quakes.call("GET", "/earthquake-events")["emitterActive"],
        10,
        "the emitter to end its run",
    )

    records = quakes.topic(QUAKES_TOPIC)  # this run and the earlier ones of the module: all checked
    events = [json.loads(r.value) for r in records]
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids), "an event was published twice"
    assert len(records) - emitted_before >= 1000, (
        "500/s for 3 s should publish well over 1000 events"
    )
    status = quakes.call("GET", "/earthquake-events")
    assert status["emitted"] == len(records) - emitted_before  # the count is honest
    for r, e in zip(records, events, strict=True):
        assert r.key == e["region"].encode()

    wait_for(
        lambda: quakes.count("QuakesTable") >= len(ids),
        60,
        "the consumer to store every event",
        every=0.5,
    )
    stored = quakes.scan("QuakesTable")
    stored_ids = Counter(i["id"]["S"] for i in stored)
    assert set(stored_ids) == set(ids) and len(stored) == len(ids)
    by_id = {e["id"]: e for e in events}
    for item in stored:
        assert float(item["magnitude"]["N"]) == by_id[item["id"]["S"]]["magnitude"]
    regions = quakes.call("GET", "/earthquakes/regions?limit=100")["items"]
    assert sum(r["count"] for r in regions) == len(ids)  # aggregates counted each event once
    assert Counter({r["region"]: r["count"] for r in regions}) == Counter(
        e["region"] for e in events
    )

    expected_alerts = {e["id"] for e in events if e["magnitude"] >= THRESHOLD}
    assert len(expected_alerts) > 200  # uniform magnitudes: about a third reach 6.0
    assert {i["id"]["S"] for i in quakes.scan("QuakeAlertsTable")} == expected_alerts
    published = [json.loads(r.value) for r in quakes.topic(ALERTS_TOPIC)]
    assert {a["id"] for a in published} == expected_alerts
    assert all(a["magnitude"] >= THRESHOLD for a in published)
    assert quakes.call("GET", "/dead-letters")["items"] == []
