"""The console's queues and SNS topics over real HTTP: the template's queues with the counts
GetQueueAttributes gives and their dead-letter queues, the topics with their subscriptions, and
sending a message to a queue with the local token."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventflow_local.apigw.local_token import DEFAULT_TOKEN
from tests.console_support import CONSOLE, get_json, request

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def console(stack: Any, path: str) -> str:
    return f"{stack.api_url}{CONSOLE}{path}"


def test_queues_show_counts_and_dead_letters_and_take_a_sent_message(run_app):
    # GIVEN the SQS app: an orders queue whose RedrivePolicy names a dead-letter queue
    stack = run_app("sqs_app")
    listed = get_json(console(stack, "/api/queues"))
    queues = {q["logicalId"]: q for q in listed["queues"]}
    assert set(queues) == {"OrdersQueue", "OrdersDeadLetters", "DoneQueue"}
    orders, dead = queues["OrdersQueue"], queues["OrdersDeadLetters"]
    assert orders["deadLetterQueue"]["logicalId"] == "OrdersDeadLetters"
    assert orders["deadLetterQueue"]["maxReceiveCount"] == 2
    assert dead["deadLetterOf"] == ["OrdersQueue"] and dead["visible"] == 0
    assert orders["consumers"] == ["ConsumerFunction"] and dead["consumers"] == []
    assert listed["topics"] == []
    url = console(stack, "/api/queues/OrdersDeadLetters/messages")
    body = {"body": '{"order": "o-1"}', "attributes": {"origin": "console"}}

    # WHEN a message is sent without the token, with a wrong one, then with the token
    assert request("POST", url, body)[0] == 401
    assert request("POST", url, body, {"Authorization": "Bearer wrong"})[0] == 403
    status, _, raw = request("POST", url, body, AUTH)

    # THEN it is on the dead-letter queue, counted as visible there and on the orders queue's row
    assert status == 201, raw
    sent = json.loads(raw)
    assert sent["queue"] == dead["name"] and sent["messageId"]
    queues = {q["logicalId"]: q for q in get_json(console(stack, "/api/queues"))["queues"]}
    assert queues["OrdersDeadLetters"]["visible"] == 1
    assert queues["OrdersQueue"]["deadLetterQueue"]["visible"] == 1
    sqs = stack.dynamo.client("sqs")
    (message,) = sqs.receive_message(
        QueueUrl=dead["url"], MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert message["Body"] == '{"order": "o-1"}' and message["MessageId"] == sent["messageId"]
    assert message["MessageAttributes"]["origin"]["StringValue"] == "console"
    # AND what is wrong with a request is said in one line
    status, _, raw = request("POST", console(stack, "/api/queues/Nope/messages"), body, AUTH)
    assert status == 404 and b"no queue Nope" in raw
    assert request("POST", url, {"body": 3}, AUTH)[0] == 400
    status, _, raw = request("POST", url, {"body": "x", "attributes": {"a": 1}}, AUTH)
    assert status == 400 and b"attributes" in raw
    assert request("GET", url)[0] == 405


def test_topics_show_the_subscriptions_the_harness_delivers(run_app):
    # GIVEN the SNS app: a topic with a filtered lambda subscription and a raw queue subscription
    stack = run_app("sns_app")
    # WHEN the console lists queues and topics
    listed = get_json(console(stack, "/api/queues"))
    # THEN the topic is there with both subscriptions, and the queues with nothing on them
    (topic,) = [t for t in listed["topics"] if t["logicalId"] == "ReadingsTopic"]
    assert topic["arn"].startswith("arn:aws:sns:")
    subs = sorted(
        (s["protocol"], s["endpoint"], json.dumps(s["filterPolicy"]), s["raw"])
        for s in topic["subscriptions"]
    )
    audit = stack.queues["AuditQueue"]["QueueName"]
    assert ("lambda", "AlertFunction", '{"severity": ["high"]}', False) in subs
    assert ("sqs", audit, "null", True) in subs
    visible = {q["logicalId"]: q["visible"] for q in listed["queues"]}
    assert (visible["AuditQueue"], visible["SeenQueue"]) == (0, 0)
