"""Earthquakes API: newest first, filters, pagination, 404 and 400 - over events the consumer
stored."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.functional.quakes_support import T0_MS, FakePublisher, QuakeTopic, batch
from tests.support import ApiClient, Function

EVENTS = Path(__file__).resolve().parents[2] / "events"
REGIONS = ["andes", "caribbean", "himalaya"]


@pytest.fixture
def catalogue(tpl, aws) -> tuple[ApiClient, list[Any]]:
    """60 events, one a second, regions in turn, magnitudes 0.0, 0.2, ..., 11.8 capped at 9.5."""
    consumer = Function(tpl, "QuakeConsumerFunction")
    consumer.module.publisher = cache(lambda: FakePublisher())
    topic = QuakeTopic()
    quakes = [
        topic.quake(
            region=REGIONS[i % 3], magnitude=min(9.5, round(i * 0.2, 1)), timestamp=T0_MS + i * 1000
        )
        for i in range(60)
    ]
    assert consumer(batch(topic.record(q, partition=i % 3) for i, q in enumerate(quakes))) == {
        "batchItemFailures": []
    }
    return ApiClient(tpl, {"QuakesApiFunction": Function(tpl, "QuakesApiFunction")}), quakes


def walk(api: ApiClient, **query: Any) -> list[dict[str, Any]]:
    """Every page of GET /earthquakes with ``query``."""
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(100):
        q = {k: str(v) for k, v in query.items()}
        if token:
            q["nextToken"] = token
        code, body = api.get("/earthquakes", query=q)
        assert code == 200, body
        items.extend(body["items"])
        token = body["nextToken"]
        if not token:
            return items
    raise AssertionError("pagination did not end")


def test_newest_first_with_the_default_page(catalogue):
    api, quakes = catalogue
    code, body = api.get("/earthquakes")
    assert code == 200
    assert [q["id"] for q in body["items"]] == [q.id for q in reversed(quakes)][:50]
    assert body["nextToken"]
    first = body["items"][0]
    assert set(first) == {
        "id",
        "magnitude",
        "location",
        "depthKm",
        "timestamp",
        "time",
        "region",
        "alert",
        "receivedAt",
    }


def test_pagination_visits_every_event_once(catalogue):
    api, quakes = catalogue
    items = walk(api, limit=7)
    assert [i["id"] for i in items] == [q.id for q in reversed(quakes)]


def test_min_magnitude_filter_fills_pages(catalogue):
    api, quakes = catalogue
    items = walk(api, minMagnitude=6.0, limit=4)
    expected = [q.id for q in reversed(quakes) if q.magnitude >= 6.0]
    assert [i["id"] for i in items] == expected
    _, page = api.get("/earthquakes", query={"minMagnitude": "6", "limit": "4"})
    assert len(page["items"]) == 4 and page["nextToken"]


def test_a_minimum_magnitude_below_what_dynamodb_can_hold_filters_as_zero(catalogue):
    # GIVEN a bound smaller than DynamoDB's smallest number (1E-130), as a fuzzer sends it
    api, quakes = catalogue
    # WHEN the list is asked for with it
    status, page = api.get("/earthquakes", query={"minMagnitude": "1e-300", "limit": "100"})
    # THEN it answers as for 0, instead of failing on the query's number
    assert status == 200
    assert [i["id"] for i in page["items"]] == [q.id for q in reversed(quakes)][:100]


def test_since_filter_in_epoch_ms_and_iso(catalogue):
    api, quakes = catalogue
    since = T0_MS + 50_000
    expected = [q.id for q in reversed(quakes) if q.timestamp >= since]
    assert [i["id"] for i in walk(api, since=since)] == expected
    assert [i["id"] for i in walk(api, since="2025-11-25T12:00:50Z", limit=3)] == expected


def test_region_filter_with_other_filters(catalogue):
    api, quakes = catalogue
    expected = [
        q.id
        for q in reversed(quakes)
        if q.region == "andes" and q.magnitude >= 3 and q.timestamp >= T0_MS + 20_000
    ]
    items = walk(api, region="andes", minMagnitude=3, since=T0_MS + 20_000, limit=2)
    assert [i["id"] for i in items] == expected and len(expected) > 2
    assert walk(api, region="east-african-rift") == []


def test_get_one_and_404(catalogue):
    api, quakes = catalogue
    code, body = api.get(f"/earthquakes/{quakes[5].id}")
    assert code == 200 and body["id"] == quakes[5].id
    assert body["magnitude"] == 1.0 and isinstance(body["magnitude"], float)  # not 1
    assert all(isinstance(v, float) for v in body["location"].values())
    code, body = api.get("/earthquakes/0123456789abcdef")
    assert code == 404 and body["message"] == "earthquake 0123456789abcdef not found"
    code, body = api.get("/earthquakes/bad.id")
    assert code == 400 and "id must be" in body["message"]


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "101"}, 422, "limit"),
        ({"minMagnitude": "strong"}, 422, "minMagnitude"),
        ({"minMagnitude": "11"}, 422, "minMagnitude"),
        ({"region": "Andes Mountains"}, 422, "region"),
        ({"since": "yesterday"}, 400, "since must be epoch milliseconds or an ISO 8601"),
        ({"nextToken": "garbage!"}, 400, "nextToken"),
    ],
)
def test_bad_queries_say_what_is_wrong(catalogue, query, status, words):
    api, _ = catalogue
    code, body = api.get("/earthquakes", query=query)
    assert code == status, body
    assert words in body["message"]


def test_a_token_from_another_query_is_refused(catalogue):
    api, _ = catalogue
    _, page = api.get("/earthquakes", query={"region": "andes", "limit": "2"})
    for other in ({}, {"region": "caribbean"}, {"region": "andes", "since": str(T0_MS + 59_000)}):
        code, body = api.get("/earthquakes", query={**other, "nextToken": page["nextToken"]})
        assert code == 400 and "nextToken" in body["message"]


def test_alerts_newest_first_with_pagination(catalogue):
    api, quakes = catalogue
    expected = [q.id for q in reversed(quakes) if q.magnitude >= 6.0]
    items, token = [], None
    while True:
        _, body = api.get(
            "/earthquakes/alerts", query={"limit": "5", **({"nextToken": token} if token else {})}
        )
        items += body["items"]
        token = body["nextToken"]
        if not token:
            break
    assert [a["id"] for a in items] == expected
    assert items[0]["severity"] == "great" and items[-1]["severity"] == "strong"


def test_regions(catalogue):
    api, quakes = catalogue
    code, body = api.get("/earthquakes/regions")
    assert code == 200 and body["nextToken"] is None
    assert {r["region"]: r["count"] for r in body["items"]} == {
        "andes": 20,
        "caribbean": 20,
        "himalaya": 20,
    }
    andes = next(r for r in body["items"] if r["region"] == "andes")
    assert andes["lastEventId"] == quakes[57].id and andes["maxMagnitude"] == 9.5


@pytest.mark.parametrize(
    "name", ["quakes_list.json", "quakes_alerts.json", "quakes_regions.json", "quakes_get.json"]
)
def test_event_files_invoke_the_function(catalogue, name):
    api, _ = catalogue
    event = json.loads((EVENTS / name).read_text())
    resp = api.functions["QuakesApiFunction"](event)
    assert resp["statusCode"] == (404 if name == "quakes_get.json" else 200)
