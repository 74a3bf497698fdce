"""The console's parts without a stack: the invocation ring buffer and its listeners, how a Kafka
record and a DynamoDB item are shown, the page tokens, Swagger UI's offline page, the world map."""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from boto3.dynamodb.types import Binary

from eventflow_dev import STATIC as PROJECT_STATIC
from eventflow_local.apigw.openapi import swagger_html
from eventflow_local.console.activity import Activity, Listener
from eventflow_local.console.kafka_view import message_view
from eventflow_local.console.server import STATIC, swagger_dir
from eventflow_local.console.tables_view import decode_token, encode_token, plain, to_item
from eventflow_local.runtime.invocation import InvocationResult


def ok(payload=None, logs=("line",)) -> InvocationResult:
    return InvocationResult(True, payload, None, 12.5, "req-1", tuple(logs))


# ----------------------------------------------------------------------------------- activity
def test_the_buffer_keeps_the_latest_invocations_newest_first_with_their_logs():
    activity = Activity(capacity=3)
    for n in range(5):
        activity.record(f"Fn{n % 2}", f"api GET /{n}", None, ok(logs=[f"log {n}"]))
    latest = activity.latest(10)
    assert [i["trigger"] for i in latest] == ["api GET /4", "api GET /3", "api GET /2"]
    assert all("logs" not in i for i in latest)
    assert activity.total == 5
    assert activity.get(latest[0]["seq"])["logs"] == ["log 4"]
    assert activity.get(1) is None  # left the buffer
    assert [i["trigger"] for i in activity.latest(10, "Fn0")] == ["api GET /4", "api GET /2"]
    assert activity.counts() == {"Fn0": 2, "Fn1": 1}


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (ok({"statusCode": 201}), "ok 201"),
        (ok({"batchItemFailures": [{"itemIdentifier": "1"}]}), "ok, 1 batch item failure(s)"),
        (ok(None), "ok"),
        (
            InvocationResult(False, error={"errorType": "ValueError", "errorMessage": "bad"}),
            "error ValueError: bad",
        ),
    ],
)
def test_the_outcome_reads_as_the_harness_invocation_line(result, outcome):
    item = Activity().record("Fn", "kafka:t", 3, result)
    assert item["outcome"] == outcome and item["batchSize"] == 3


def test_listeners_get_each_invocation_and_a_slow_one_never_blocks_an_invocation():
    activity = Activity()
    fast, slow = activity.subscribe(), activity.subscribe()
    for _ in range(slow.queue.maxsize + 10):  # nobody reads `slow`
        activity.record("Fn", "direct", None, ok())
    assert slow.dropped and slow.queue.qsize() == slow.queue.maxsize
    name, data = fast.get(1)
    assert name == "invocation" and data["function"] == "Fn"
    activity.unsubscribe(fast)
    activity.unsubscribe(slow)
    assert activity.listening == 0
    activity.publish("offsets", {"t": 1})  # no listener: nothing to do


def test_a_listener_wakes_up_when_an_invocation_arrives():
    activity = Activity()
    listener = activity.subscribe()
    got: list = []
    thread = threading.Thread(target=lambda: got.append(listener.get(5)))
    thread.start()
    activity.record("Fn", "direct", None, ok())
    thread.join(5)
    assert got and got[0][0] == "invocation"
    assert Listener().get(0.01) is None


# ----------------------------------------------------------------------------------- kafka
def record(value, key=b"k", headers=()):
    return SimpleNamespace(
        partition=1, offset=7, timestamp=1000, key=key, value=value, headers=list(headers)
    )


def test_a_json_value_is_parsed_text_stays_text_and_binary_is_base64():
    shown = message_view(record(b'{"a": 1}', headers=[("eventType", b"X"), ("bin", b"\xff")]))
    assert shown["value"] == {"text": '{"a": 1}', "json": {"a": 1}}
    assert shown["key"] == {"text": "k"}
    assert shown["headers"] == [
        {"name": "eventType", "text": "X"},
        {"name": "bin", "base64": "/w=="},
    ]
    assert message_view(record(b"plain"))["value"] == {"text": "plain"}
    assert message_view(record(b"\xff\xfe"))["value"] == {"base64": "//4="}
    tombstone = message_view(record(None, key=None))
    assert tombstone["value"] == {"text": None} and tombstone["key"] == {"text": None}
    assert tombstone["size"] == 0


# ----------------------------------------------------------------------------------- dynamodb
def test_items_become_plain_json():
    raw = {
        "id": {"S": "a"},
        "n": {"N": "3"},
        "f": {"N": "1.5"},
        "ss": {"SS": ["b", "a"]},
        "b": {"B": b"\x00\x01"},
        "m": {"M": {"l": {"L": [{"N": "2"}, {"BOOL": True}, {"NULL": True}]}}},
    }
    assert to_item(raw) == {
        "id": "a",
        "n": 3,
        "f": 1.5,
        "ss": ["a", "b"],
        "b": {"base64": "AAE="},
        "m": {"l": [2, True, None]},
    }
    assert plain(Decimal("10")) == 10 and plain(Binary(b"x")) == {"base64": "eA=="}


def test_page_tokens_round_trip_and_foreign_ones_are_refused():
    key = {"id": {"S": "a"}}
    assert decode_token(encode_token(key)) == key
    assert encode_token(None) is None and decode_token(None) is None
    for bad in ("%%", "bm90IGpzb24", encode_token({"x": 1})[:-4] + "AAAA"):
        with pytest.raises(ValueError):
            decode_token(bad)


# ----------------------------------------------------------------------------------- static
def test_swagger_ui_is_served_by_the_harness_not_a_cdn():
    page = swagger_html("/openapi.json")
    assert "https://" not in page and "cdn" not in page
    assert '<script src="/_console/swagger-ui/swagger-ui-bundle.js">' in page
    folder = swagger_dir()
    assert folder is not None, "swagger-ui-py is a dependency of the harness"
    assert (folder / "swagger-ui-bundle.js").stat().st_size > 500_000
    assert (folder / "swagger-ui.css").is_file()


def test_the_world_outline_is_shipped_and_fills_the_map():
    svg = (STATIC / "world.svg").read_text()
    assert 'viewBox="0 0 360 180"' in svg and "Natural Earth" in svg
    path = re.search(r' d="([^"]+)"', svg).group(1)
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]
    xs, ys = numbers[0::2], numbers[1::2]
    assert min(xs) <= 1 and max(xs) >= 359  # from one edge to the other
    assert min(ys) >= 0 and max(ys) <= 180


def test_the_page_needs_nothing_from_the_network():
    # every file the page loads: its own static folder and the project's views
    for path in (*sorted(STATIC.glob("*.[jch]*")), PROJECT_STATIC / "project.js"):
        text = path.read_text()
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), path
    assert Path(STATIC, "index.html").read_text().count('type="module"') == 1


def test_a_too_large_message_is_always_answered_413_not_a_broken_pipe():
    # GIVEN a console on a server of its own (its stack is only asked for the token)
    import urllib.error
    import urllib.request

    from eventflow_local.console.server import MAX_PRODUCE_BYTES, ConsoleApp
    from eventflow_local.httpserver import HttpService

    app = ConsoleApp(SimpleNamespace(api_token="t"), Activity(), plugins=())  # type: ignore[arg-type]

    class Console(HttpService):
        def handle(self, req):
            app.handle(req)

    server = Console("127.0.0.1", 0)
    server.start()
    try:
        # WHEN a body one byte over the limit is sent, again and again
        body = b'{"value": "' + b"x" * MAX_PRODUCE_BYTES + b'"}'
        statuses = []
        for _ in range(20):
            req = urllib.request.Request(
                f"{server.url}/_console/api/topics/t/messages",
                data=body,
                method="POST",
                headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
            )
            try:
                urllib.request.urlopen(req, timeout=10)
            except urllib.error.HTTPError as exc:
                statuses.append((exc.code, b"at most" in exc.read()))
        # THEN each time the client, done sending, reads the 413 and why
        assert statuses == [(413, True)] * 20
    finally:
        server.stop()
