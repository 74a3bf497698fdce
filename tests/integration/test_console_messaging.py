"""The console's messaging endpoints over real HTTP against the console_messaging fixture app
(tests/apps/console_messaging): the lists of queues, SNS topics, buses and Kinesis streams, and
each send checked by its effect — the subscribed function ran with that message, the queue holds
it, the rule's target got that event, the stream's mapping delivered that record."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from eventflow_local.apigw.local_token import DEFAULT_TOKEN
from tests.console_support import CONSOLE, get_json, request
from tests.integration.conftest import APPS

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


class Seen:
    """What the recorder function wrote to the seen queue, kept across the module's tests."""

    def __init__(self, stack: Any) -> None:
        self.sqs = stack.dynamo.client("sqs")
        self.url = stack.queues["SeenQueue"]["QueueUrl"]
        self.items: list[dict[str, Any]] = []

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [item for item in self.items if match(item)]
            if found:
                return found[0]
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            for message in answer.get("Messages", []):
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                self.items.append(json.loads(message["Body"]))
            if not answer.get("Messages"):
                time.sleep(0.2)
        raise AssertionError(f"the recorder wrote nothing that matches; it wrote {self.items}")


@pytest.fixture(scope="module")
def app(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from eventflow_local.stack import Stack

    stack = Stack(
        template_path=APPS / "console_messaging" / "template.yaml",
        bootstrap_servers=kafka_bootstrap,
        port=0,
        environ={},
        state_dir=tmp_path_factory.mktemp("console-messaging"),
        log=lambda line: None,
    )
    stack.start()
    try:
        assert not stack.refused, stack.refused
        stack.seen = Seen(stack)  # type: ignore[attr-defined]
        yield stack
    finally:
        stack.stop()


def url(stack: Any, path: str) -> str:
    return f"{stack.api_url}{CONSOLE}{path}"


def post(stack: Any, path: str, body: Any, headers: dict | None = None) -> tuple[int, dict]:
    status, _, raw = request("POST", url(stack, path), body, AUTH if headers is None else headers)
    return status, json.loads(raw)


def raw_post(stack: Any, path: str, raw: bytes) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url(stack, path), data=raw, method="POST", headers=AUTH)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_lists_name_every_queue_topic_bus_and_stream_with_what_reads_them(app):
    # GIVEN the app running WHEN the console lists its messaging resources
    queues = {q["logicalId"]: q for q in get_json(url(app, "/api/queues"))["queues"]}
    topics = {t["logicalId"]: t for t in get_json(url(app, "/api/sns/topics"))["topics"]}
    buses = {b["name"]: b for b in get_json(url(app, "/api/buses"))["buses"]}
    streams = {s["logicalId"]: s for s in get_json(url(app, "/api/streams"))["streams"]}

    # THEN the queues have their counts and say which is the dead-letter queue of which
    assert set(queues) == {"JobsQueue", "JobsDeadLetters", "SeenQueue", "LedgerQueue"}
    assert queues["JobsQueue"]["deadLetterQueue"]["logicalId"] == "JobsDeadLetters"
    assert queues["JobsQueue"]["deadLetterQueue"]["maxReceiveCount"] == 3
    assert queues["JobsDeadLetters"]["deadLetterOf"] == ["JobsQueue"]
    assert queues["LedgerQueue"]["fifo"] and queues["JobsQueue"]["consumers"] == []
    # AND the topics their subscriptions, with the filter policy itself
    notices, ledger = topics["NoticesTopic"], topics["LedgerTopic"]
    assert not notices["fifo"] and notices["arn"].startswith("arn:aws:sns:")
    (urgent,) = notices["subscriptions"]
    assert (urgent["protocol"], urgent["endpoint"]) == ("lambda", "RecorderFunction")
    assert urgent["filterPolicy"] == {"kind": ["urgent"]}
    assert urgent["filterPolicyScope"] == "MessageAttributes"
    assert ledger["fifo"] and ledger["name"] == "ledger.fifo"
    assert ledger["contentBasedDeduplication"] is True
    (raw,) = ledger["subscriptions"]
    assert (raw["protocol"], raw["endpoint"], raw["raw"], raw["filterPolicy"]) == (
        "sqs",
        "ledger.fifo",
        True,
        None,
    )
    # AND the buses their rules with pattern and targets (the default bus is always there)
    assert set(buses) == {"default", "shop"}
    (rule,) = buses["shop"]["rules"]
    assert rule["logicalId"] == "LargeOrders" and rule["enabled"]
    assert rule["pattern"] == {
        "source": ["shop.orders"],
        "detail": {"total": [{"numeric": [">=", 100]}]},
    }
    assert [(t["kind"], t["target"]) for t in rule["targets"]] == [("lambda", "RecorderFunction")]
    assert buses["shop"]["logicalId"] == "ShopBus" and buses["shop"]["stats"]["events"] >= 0
    # AND the stream its two shards and the mapping reading it
    clicks = streams["ClicksStream"]
    assert clicks["status"] == "ACTIVE" and len(clicks["shards"]) == 2
    (mapping,) = clicks["mappings"]
    assert (mapping["function"], mapping["event"]) == ("RecorderFunction", "Clicks")
    assert (mapping["startingPosition"], mapping["batchSize"]) == ("TRIM_HORIZON", 10)


def test_a_published_message_reaches_the_subscription_whose_filter_it_passes(app):
    # GIVEN the notices topic, whose lambda subscription takes urgent notices only
    path = "/api/sns/topics/NoticesTopic/messages"
    # WHEN a routine then an urgent notice are published from the console
    status, routine = post(app, path, {"message": "routine", "attributes": {"kind": "routine"}})
    assert status == 201, routine
    status, sent = post(
        app,
        path,
        {"message": '{"n": 1}', "subject": "Disk", "attributes": {"kind": "urgent", "level": 3}},
    )
    assert status == 201, sent
    # THEN the recorder ran with the urgent one, as SNS's event with its id, subject and attributes
    got = app.seen.wait_for(lambda s: s["via"] == "sns" and s["id"] == sent["messageId"])
    assert got["subject"] == "Disk" and got["body"]["Message"] == '{"n": 1}'
    assert got["body"]["MessageAttributes"]["level"] == {"Type": "Number", "Value": "3"}
    # AND the subscription counts the routine one as filtered out, never delivered
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        (topic,) = [
            t
            for t in get_json(url(app, "/api/sns/topics"))["topics"]
            if t["logicalId"] == "NoticesTopic"
        ]
        if topic["subscriptions"][0]["stats"]["filtered"] >= 1:
            break
        time.sleep(0.2)
    stats = topic["subscriptions"][0]["stats"]
    assert (stats["delivered"], stats["filtered"], stats["discarded"]) == (1, 1, 0)
    assert not any(s["via"] == "sns" and s["id"] == routine["messageId"] for s in app.seen.items)


def test_a_message_published_to_the_fifo_topic_lands_in_its_raw_fifo_queue(app):
    # WHEN a message is published to the FIFO topic by name with a message group
    body = {"message": "entry 1", "groupId": "account-7"}
    status, sent = post(app, "/api/sns/topics/ledger.fifo/messages", body)
    # THEN the subscribed FIFO queue holds it, in that group
    assert status == 201, sent
    assert sent["topic"] == "ledger.fifo" and sent["messageId"]
    sqs = app.dynamo.client("sqs")
    queue = app.queues["LedgerQueue"]["QueueUrl"]
    messages: list = []
    deadline = time.monotonic() + 15
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue, AttributeNames=["MessageGroupId"], WaitTimeSeconds=1
        ).get("Messages", [])
    (message,) = messages
    assert message["Body"] == "entry 1"
    assert message["Attributes"]["MessageGroupId"] == "account-7"


def test_what_is_wrong_with_a_publish_is_one_line_never_a_traceback(app):
    path = "/api/sns/topics/NoticesTopic/messages"
    # unknown topic, no message, not JSON, not an object, a bad attribute, no or a wrong token
    assert post(app, "/api/sns/topics/Nope/messages", {"message": "x"}) == (
        404,
        {"message": "no SNS topic Nope in the template"},
    )
    status, answer = post(app, path, {"subject": "x"})
    assert status == 400 and answer["message"] == "message: a non-empty string is required"
    status, answer = raw_post(app, path, b"{not json")
    assert status == 400 and answer["message"].startswith("the body is not JSON")
    assert post(app, path, ["message"])[0] == 400
    status, answer = post(app, path, {"message": "x", "attributes": {"a": [1]}})
    assert status == 400 and "attributes.a" in answer["message"]
    status, answer = post(app, path, {"message": "x", "subject": "two\nlines"})
    assert status == 400 and "subject" in answer["message"]
    status, answer = post(app, path, {"message": "x", "deduplicationId": "d"})
    assert status == 400 and "FIFO" in answer["message"]
    assert post(app, path, {"message": "x"}, headers={})[0] == 401
    assert post(app, path, {"message": "x"}, headers={"Authorization": "Bearer wrong"})[0] == 403
    assert request("GET", url(app, path))[0] == 405


def test_an_event_put_on_the_bus_reaches_the_target_of_the_rule_it_matches(app):
    # GIVEN the shop bus, whose rule takes orders of 100 or more
    path = "/api/buses/shop/events"
    small = {"source": "shop.orders", "detailType": "Order", "detail": {"total": 5}}
    large = {"source": "shop.orders", "detailType": "Order", "detail": {"total": 250}}
    # WHEN a small and a large order are put on it from the console
    status, small_put = post(app, path, small)
    assert status == 201, small_put
    status, put = post(app, path, large)
    # THEN the recorder got the large one, as EventBridge's event with the id the console answered
    assert status == 201 and put["bus"] == "shop", put
    got = app.seen.wait_for(lambda s: s["via"] == "events" and s["id"] == put["eventId"])
    assert got["body"]["detail"] == {"total": 250} and got["body"]["detail-type"] == "Order"
    assert not any(s["via"] == "events" and s["id"] == small_put["eventId"] for s in app.seen.items)
    # AND an unknown bus, a missing source or a body that is not JSON is one line
    status, answer = post(app, "/api/buses/nope/events", large)
    assert (status, answer["message"]) == (404, "no event bus nope")
    status, answer = post(app, "/api/events", {**large, "bus": "nope"})
    assert (status, answer["message"]) == (404, "no event bus nope")
    status, answer = post(app, path, {"detailType": "Order"})
    assert status == 400 and answer["message"].startswith("source:")
    assert raw_post(app, path, b"]")[0] == 400


def test_a_record_put_on_the_stream_is_delivered_by_its_mapping(app):
    # WHEN a record is put on the clicks stream from the console (data given as JSON)
    path = "/api/streams/ClicksStream/records"
    status, put = post(app, path, {"data": {"page": "/home"}, "partitionKey": "user-1"})
    # THEN the stream gave it a shard and sequence number, and the recorder got that record
    assert status == 201, put
    assert put["stream"] == app.template.ref("ClicksStream") and put["shardId"].startswith("shard")
    got = app.seen.wait_for(lambda s: s["via"] == "kinesis" and s["id"] == put["sequenceNumber"])
    assert got["key"] == "user-1" and json.loads(got["data"]) == {"page": "/home"}
    # AND the stream's list shows the mapping settled on it in that shard
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        (clicks,) = get_json(url(app, "/api/streams"))["streams"]
        positions = clicks["mappings"][0]["positions"]
        if positions.get(put["shardId"]) == put["sequenceNumber"]:
            break
        time.sleep(0.2)
    assert positions.get(put["shardId"]) == put["sequenceNumber"], clicks
    # AND what is wrong with a put is one line
    assert post(app, "/api/streams/Nope/records", {"data": "x", "partitionKey": "k"}) == (
        404,
        {"message": "no Kinesis stream Nope in the template"},
    )
    status, answer = post(app, path, {"data": "x"})
    assert (status, answer["message"]) == (400, "partitionKey: a non-empty string is required")
    status, answer = post(app, path, {"partitionKey": "k"})
    assert status == 400 and answer["message"].startswith("data:")
    assert post(app, path, {"data": "x", "partitionKey": "k" * 257})[0] == 400
    assert raw_post(app, path, b"nope")[0] == 400
    assert post(app, path, {"data": "x", "partitionKey": "k"}, headers={})[0] == 401


def test_a_message_sent_to_a_queue_is_visible_then_in_flight_once_received(app):
    # WHEN a message is sent to the jobs queue from the console
    status, sent = post(app, "/api/queues/JobsQueue/messages", {"body": "job 1"})
    assert status == 201, sent

    def jobs() -> dict:
        listed = get_json(url(app, "/api/queues"))["queues"]
        return next(q for q in listed if q["logicalId"] == "JobsQueue")

    # THEN it is counted as visible; once a client receives it (not deleting it), as in flight
    assert (jobs()["visible"], jobs()["inFlight"]) == (1, 0)
    sqs = app.dynamo.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=app.queues["JobsQueue"]["QueueUrl"])["Messages"]
    assert message["MessageId"] == sent["messageId"] and message["Body"] == "job 1"
    assert (jobs()["visible"], jobs()["inFlight"]) == (0, 1)
