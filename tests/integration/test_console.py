"""The console's JSON endpoints and server-sent events over real HTTP, on the project's template
(after the fraud demo) and on a fixture SAM app that is not ours (the generic views only)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from eventflow_local.apigw.local_token import DEFAULT_TOKEN
from tests.console_support import CONSOLE, get_json, request, template_stack
from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture(scope="module")
def fraud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict]]:
    with template_stack(tmp_path_factory.mktemp("console")) as started:
        yield started


def console(stack: Any, path: str) -> str:
    return f"{stack.api_url}{CONSOLE}{path}"


# ----------------------------------------------------------------------------------- overview
def test_the_overview_names_topics_functions_tables_and_the_projects_views(fraud):
    stack, _ = fraud
    info = get_json(console(stack, "/api/overview"))
    assert info["features"] == {"fraud": True, "quakes": True, "deadLetters": True, "redrive": True}
    topics = {t["topic"]: t for t in info["topics"]}
    assert set(stack.topics) <= set(topics)
    txn = topics["transaction-service-topic"]
    assert txn["messages"] == 3  # the three TransactionMarkedFraud events
    assert [c["function"] for c in txn["consumers"]] == ["AccountConsumerFunction"]
    assert {f["function"] for f in info["functions"]} == set(stack.runtimes)
    assert {t["logicalId"] for t in info["tables"]} == set(stack.tables)


def test_the_page_and_its_modules_are_served_from_the_package(fraud):
    stack, _ = fraud
    status, headers, raw = request("GET", console(stack, "/"))
    assert status == 200 and b'src="/_console/static/app.js"' in raw
    for path in (
        "static/app.js",
        "static/views.js",
        "plugins/eventflow/project.js",
        "static/lib.js",
    ):
        status, headers, raw = request("GET", console(stack, f"/{path}"))
        assert status == 200 and headers["Content-Type"].startswith("text/javascript"), path
    status, _, raw = request("GET", console(stack, "/static/world.svg"))
    assert status == 200 and b'<path class="land"' in raw
    assert request("GET", console(stack, "/static/../server.py"))[0] == 404
    status, headers, _ = request("GET", f"{stack.api_url}{CONSOLE}")
    assert status == 200  # urllib follows the 308 to /_console/


def test_the_plugins_views_are_named_by_the_overview_and_served_from_its_folder(fraud):
    # GIVEN this project's plugin WHEN the page asks the overview THEN it names its module
    stack, _ = fraud
    info = get_json(console(stack, "/api/overview"))
    ours = [p for p in info["plugins"] if p["name"] == "eventflow"]
    assert ours == [
        {
            "name": "eventflow",
            "module": "/_console/plugins/eventflow/project.js",
            "styles": ["/_console/plugins/eventflow/project.css"],
        }
    ]
    # AND the module and styles come from the plugin's folder, and nothing outside it does
    status, headers, raw = request("GET", f"{stack.api_url}{ours[0]['module']}")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"export const views" in raw
    status, headers, _ = request("GET", f"{stack.api_url}{ours[0]['styles'][0]}")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert request("GET", console(stack, "/plugins/eventflow/%2e%2e/__init__.py"))[0] == 404
    assert request("GET", console(stack, "/plugins/eventflow/"))[0] == 404
    assert request("GET", console(stack, "/plugins/nobody/project.js"))[0] == 404


# ----------------------------------------------------------------------------------- topics
def test_the_three_fraud_messages_are_on_the_topic_with_their_keys_and_headers(fraud):
    stack, facts = fraud
    account = facts["account"]["id"]
    page = get_json(console(stack, "/api/topics/transaction-service-topic/messages?limit=10"))
    messages = page["messages"]
    assert len(messages) == 3
    assert {m["key"]["text"] for m in messages} == {account}
    assert all(m["value"]["json"]["status"] == "FRAUD" for m in messages)
    fraud_ids = {t["id"] for t in facts["transactions"][:3]}
    assert {m["value"]["json"]["id"] for m in messages} == fraud_ids
    headers = [{h["name"]: h["text"] for h in m["headers"]} for m in messages]
    assert all(h["eventType"] == "TransactionMarkedFraud" for h in headers)
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps, reverse=True)  # newest first


def test_each_mapping_has_committed_the_fraud_messages_and_has_no_lag(fraud):
    stack, _ = fraud
    topics = {t["topic"]: t for t in get_json(console(stack, "/api/topics"))["topics"]}
    consumer = topics["transaction-service-topic"]["consumers"][0]
    ends = {p["partition"]: p["end"] for p in topics["transaction-service-topic"]["partitions"]}
    assert consumer["group"] == "account-group"
    assert sum(ends.values()) == 3
    for row in consumer["partitions"]:
        assert row["lag"] == 0
        if ends[row["partition"]]:  # a partition with messages has them committed
            assert row["committed"] == ends[row["partition"]]


def test_producing_needs_the_local_token_and_the_message_then_shows(fraud):
    stack, _ = fraud
    url = console(stack, "/api/topics/earthquake-alerts-topic/messages")
    body = {"key": "console-key", "value": '{"hello": "console"}', "headers": {"origin": "test"}}
    assert request("POST", url, body)[0] == 401
    assert request("POST", url, body, {"Authorization": "Bearer wrong"})[0] == 403
    status, _, raw = request("POST", url, body, AUTH)
    assert status == 201, raw
    sent = json.loads(raw)
    messages = get_json(url)["messages"]
    mine = [
        m for m in messages if m["offset"] == sent["offset"] and m["partition"] == sent["partition"]
    ]
    assert mine and mine[0]["key"]["text"] == "console-key"
    assert mine[0]["value"]["json"] == {"hello": "console"}
    assert mine[0]["headers"] == [{"name": "origin", "text": "test"}]


def test_bad_produce_requests_are_told_what_is_wrong(fraud):
    stack, _ = fraud
    url = console(stack, "/api/topics/earthquake-alerts-topic/messages")
    status, _, raw = request(
        "POST", console(stack, "/api/topics/no-such-topic/messages"), {"value": "x"}, AUTH
    )
    assert status == 404 and b"no topic no-such-topic" in raw
    status, _, raw = request("POST", url, {"value": 3}, AUTH)
    assert status == 400 and b"value" in raw
    status, _, raw = request("POST", url, {"value": "x", "headers": {"a": 1}}, AUTH)
    assert status == 400 and b"headers" in raw
    status, _, raw = request("POST", url, {"value": "x" * (1024 * 1024 + 1)}, AUTH)
    assert status == 413 and b"at most" in raw
    assert request("DELETE", url, None, AUTH)[0] == 405
    assert request("GET", console(stack, "/api/nothing"))[0] == 404


# ----------------------------------------------------------------------------------- tables
def test_tables_count_page_and_show_one_item(fraud):
    stack, facts = fraud
    tables = {t["logicalId"]: t for t in get_json(console(stack, "/api/tables"))["tables"]}
    assert tables["AccountsTable"]["count"] == 1 and tables["AccountsTable"]["exact"]
    assert tables["TransactionsTable"]["count"] == 4
    first = get_json(console(stack, "/api/tables/TransactionsTable/items?limit=3"))
    assert len(first["items"]) == 3 and first["next"]
    second = get_json(
        console(stack, f"/api/tables/TransactionsTable/items?limit=3&next={first['next']}")
    )
    ids = {i["id"] for i in first["items"] + second["items"]}
    assert ids == {t["id"] for t in facts["transactions"]}
    key = quote(json.dumps({"id": facts["account"]["id"]}))
    item = get_json(console(stack, f"/api/tables/AccountsTable/item?key={key}"))["item"]
    assert item["fraudCount"] == 3 and item["status"] == "blocked"
    assert request("GET", console(stack, "/api/tables/Nope/items"))[0] == 404
    assert request("GET", console(stack, "/api/tables/AccountsTable/items?next=%25%25"))[0] == 400
    missing = quote(json.dumps({"id": "missing"}))
    assert request("GET", console(stack, f"/api/tables/AccountsTable/item?key={missing}"))[0] == 404


# ----------------------------------------------------------------------------------- functions
def test_the_account_consumers_invocation_is_recorded_with_its_logs(fraud):
    stack, _ = fraud
    page = get_json(console(stack, "/api/invocations?function=AccountConsumerFunction"))
    assert page["invocations"], "no invocation of the account consumer"
    inv = page["invocations"][0]
    assert inv["trigger"] == "kafka:transaction-service-topic"
    assert inv["ok"] and inv["batchSize"] >= 1 and inv["durationMs"] > 0
    assert sum(i["batchSize"] for i in page["invocations"]) == 3
    detail = get_json(console(stack, f"/api/invocations/{inv['seq']}"))
    assert isinstance(detail["logs"], list)
    api = get_json(console(stack, "/api/invocations?function=MarkFraudFunction"))["invocations"]
    assert len(api) == 3 and all(i["outcome"] == "ok 200" for i in api)
    marked = get_json(console(stack, f"/api/invocations/{api[0]['seq']}"))
    assert any(
        "TransactionMarkedFraud" in line or "fraud" in line.lower() for line in marked["logs"]
    )
    assert request("GET", console(stack, "/api/invocations/999999"))[0] == 404


def test_event_sources_show_state_batch_size_and_no_retries(fraud):
    stack, _ = fraud
    data = get_json(console(stack, "/api/functions"))
    sources = {(s["function"], s["event"]): s for s in data["sources"]}
    account = next(s for (fn, _), s in sources.items() if fn == "AccountConsumerFunction")
    assert account["state"] == "Enabled" and account["kind"] == "kafka"
    assert account["topics"] == ["transaction-service-topic"]
    assert account["retriesInFlight"] == []
    assert account["stats"]["records_invoked"] == 3


# ----------------------------------------------------------------------------------- live
def read_events(url: str, until: str, timeout: float, during: Any = None) -> list[tuple[str, Any]]:
    """Open the event stream with a plain socket, run ``during()``, read until event ``until``."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    sock.sendall(
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    buffer = b""
    events: list[tuple[str, Any]] = []
    deadline = time.monotonic() + timeout
    started = False
    head = True
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
            if head:
                if b"\r\n\r\n" not in buffer:
                    continue
                status, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = status.decode().splitlines()
                assert lines[0].startswith("HTTP/1.1 200"), lines[0]
                assert any(h.lower().startswith("content-type: text/event-stream") for h in lines)
                head = False
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                lines = block.decode().splitlines()
                name = next((line[7:] for line in lines if line.startswith("event: ")), None)
                data = next((line[6:] for line in lines if line.startswith("data: ")), None)
                if name:
                    events.append((name, json.loads(data or "null")))
                if name == "hello" and not started and during is not None:
                    started = True
                    during()
                if name == until:
                    return events
    finally:
        sock.close()
    return events


def test_the_event_stream_pushes_each_invocation_as_it_ends(fraud):
    stack, _ = fraud
    call = lambda: request("GET", f"{stack.api_url}/accounts?limit=1")  # noqa: E731
    events = read_events(console(stack, "/events"), "invocation", 20, during=call)
    assert events[0][0] == "hello"
    name, data = events[-1]
    assert name == "invocation"
    assert data["function"] == "AccountsApiFunction" and data["trigger"] == "api GET /accounts"
    assert "logs" not in data


def test_the_event_stream_tells_of_new_messages_on_a_topic(fraud):
    stack, _ = fraud
    url = console(stack, "/api/topics/earthquake-alerts-topic/messages")
    produce = lambda: request("POST", url, {"value": "tick"}, AUTH)  # noqa: E731
    events = read_events(console(stack, "/events"), "offsets", 20, during=produce)
    assert events[-1][0] == "offsets"
    assert "earthquake-alerts-topic" in events[-1][1]


# ----------------------------------------------------------------------------------- swagger
def test_swagger_ui_loads_its_assets_from_the_harness_not_a_cdn(fraud):
    stack, _ = fraud
    status, _, page = request("GET", f"{stack.api_url}/swagger")
    assert status == 200
    assert b"cdn" not in page.lower() and b"https://" not in page
    assert b'src="/_console/swagger-ui/swagger-ui-bundle.js"' in page
    status, headers, raw = request("GET", console(stack, "/swagger-ui/swagger-ui-bundle.js"))
    assert status == 200 and len(raw) > 500_000 and "javascript" in headers["Content-Type"]
    status, headers, raw = request("GET", console(stack, "/swagger-ui/swagger-ui.css"))
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert request("GET", console(stack, "/swagger-ui/swagger-editor.js"))[0] == 404


# ----------------------------------------------------------------------------------- not our app
def test_the_generic_views_work_for_another_sam_app(run_app, unique_name):
    # GIVEN a fixture app with a self-managed Kafka source and a table, and none of our routes
    topic = unique_name("spread")
    stack = run_app("kafka_partitions", parameters={"SpreadTopic": topic})
    info = get_json(console(stack, "/api/overview"))
    assert info["features"] == {
        "fraud": False,
        "quakes": False,
        "deadLetters": False,
        "redrive": False,
    }
    # WHEN a message is produced through the console
    url = console(stack, f"/api/topics/{topic}/messages")
    status, _, raw = request("POST", url, {"key": "k1", "value": '{"n": 1}'}, AUTH)
    assert status == 201, raw
    # THEN the function's invocation, the topic's committed offset and the table's item show
    invocations = wait_for(
        lambda: get_json(console(stack, "/api/invocations?function=BatchRecorderFunction"))[
            "invocations"
        ],
        20,
        "the fixture function's invocation",
    )
    assert invocations[0]["trigger"] == f"kafka:{topic}" and invocations[0]["batchSize"] == 1

    def settled() -> Any:
        topics = {t["topic"]: t for t in get_json(console(stack, "/api/topics"))["topics"]}
        consumer = topics[topic]["consumers"][0]
        return consumer if consumer["lag"] == 0 else None

    consumer = wait_for(settled, 20, "the mapping's commit")
    assert consumer["function"] == "BatchRecorderFunction"
    messages = get_json(url)["messages"]
    assert [m["key"]["text"] for m in messages] == ["k1"]
    tables = {t["logicalId"]: t for t in get_json(console(stack, "/api/tables"))["tables"]}
    assert tables["InvocationsTable"]["count"] == 1
    items = get_json(console(stack, "/api/tables/InvocationsTable/items"))["items"]
    assert items[0]["counts"] == {f"{topic}-{next(iter(m['partition'] for m in messages))}": 1}


def test_retries_in_flight_a_failed_invocations_logs_and_the_onfailure_queue(run_app):
    # GIVEN a DynamoDB stream source that retries a failing batch five times, then gives it to
    # its OnFailure queue
    stack = run_app("stream_strings", parameters={"StreamRetries": "5", "StreamWindow": "0"})
    client = stack.dynamodb_client()
    table = stack.table_name("ItemsTable")
    # WHEN a poison item is written
    client.put_item(TableName=table, Item={"id": {"S": "bad"}, "poison": {"BOOL": True}})

    # THEN the event source shows the batch being retried ...
    def retrying() -> Any:
        (source,) = get_json(console(stack, "/api/functions"))["sources"]
        return source["retriesInFlight"]

    (retry,) = wait_for(retrying, 20, "a retry in flight", every=0.05)
    assert retry["records"] == 1 and retry["attempts"] >= 1
    # ... each failed invocation with its error and the log lines it wrote ...
    failed = wait_for(
        lambda: [
            i for i in get_json(console(stack, "/api/invocations"))["invocations"] if not i["ok"]
        ],
        20,
        "a failed invocation",
    )
    assert failed[0]["outcome"] == "error ValueError: poison item in the batch"
    logs = get_json(console(stack, f"/api/invocations/{failed[0]['seq']}"))["logs"]
    assert any("ValueError: poison item in the batch" in line for line in logs)
    # ... and, retries exhausted, the record in the OnFailure queue
    queues = wait_for(
        lambda: get_json(console(stack, "/api/destinations"))["queues"], 30, "the failure record"
    )
    # (the queue's name is the one CloudFormation gives it: its QueueName attribute)
    assert queues[0]["queue"] == stack.template.get_att("StreamFailures", "QueueName")
    (record,) = queues[0]["records"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert wait_for(lambda: not retrying(), 10, "no retry left") is True
    info = get_json(console(stack, "/api/overview"))
    assert info["features"] == dict.fromkeys(info["features"], False)
