"""The EventBridge fixture app (tests/apps/eventbridge_app) under a started Stack, driven with
boto3 as a user drives it: events put on a custom bus (by a function through AWS_ENDPOINT_URL,
by boto3, by the console) reach the targets of the rules whose pattern they match: the function
(whole, as EventBridge's Lambda event, or through an input transformer) and a queue; the default
bus's rule gets the default bus's events; events matching no pattern reach nothing."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from eventflow_local.apigw.local_token import auth_headers

pytestmark = pytest.mark.integration


def collect(sqs: Any, url: str, want: int, timeout: float = 30.0) -> list[Any]:
    """The bodies that arrived on a queue, once ``want`` have (short polls), and a little more."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            seen.append(json.loads(message["Body"]))
        if len(seen) >= want:
            deadline = min(deadline, time.monotonic() + 1.0)  # anything more would come now
        if not messages:
            time.sleep(0.2)
    return seen


def test_events_reach_the_targets_of_matching_rules(run_app):
    # GIVEN the app running: its bus, queues and rules made in the emulator
    stack = run_app("eventbridge_app")
    assert not stack.refused, stack.refused
    lines = "\n".join(stack.lines)
    assert "RetryPolicy" not in lines  # the recorder target's RetryPolicy is taken, not named
    events = stack.dynamo.client("events")
    sqs = stack.dynamo.client("sqs")
    bus = events.describe_event_bus(Name="orders")
    names = {r["Name"] for r in events.list_rules(EventBusName="orders")["Rules"]}
    assert stack.template.get_att("PaidOrders", "RuleName") in names
    triggers = stack.triggers()["RecorderFunction"]
    assert "EventBridge rule RecorderFunctionAudit on bus default" in triggers

    # WHEN the publisher function puts a paid order on the bus through AWS_ENDPOINT_URL
    result = stack.invoke(
        "PublisherFunction", {"orders": [{"status": "PAID-CARD", "order": {"id": "o1"}}]}
    )
    assert result.ok, result.error
    assert result.payload["failed"] == 0 and result.payload["busArn"] == bus["Arn"]
    # ... a user puts a paid one, a pending one and one of another source with boto3
    entries = [
        ("shop.orders", {"status": "PAID-CASH", "order": {"id": "o2"}}),
        ("shop.orders", {"status": "PENDING", "order": {"id": "o3"}}),
        ("shop.refunds", {"status": "PAID-CARD", "order": {"id": "o4"}}),
    ]
    answer = events.put_events(
        Entries=[
            {"EventBusName": "orders", "Source": s, "DetailType": "Order", "Detail": json.dumps(d)}
            for s, d in entries
        ]
    )
    assert answer["FailedEntryCount"] == 0
    # ... and an audit event goes on the default bus through the console
    body = json.dumps({"source": "shop.audit", "detailType": "Audit", "detail": {"n": 1}})
    url = f"{stack.gateway.url}/_console/api/events"
    with pytest.raises(urllib.error.HTTPError) as denied:  # without the local token: refused
        urllib.request.urlopen(urllib.request.Request(url, data=body.encode()), timeout=10)
    assert denied.value.code == 401
    request = urllib.request.Request(
        url, data=body.encode(), method="POST", headers=auth_headers(stack.api_token)
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        put = json.loads(resp.read())
    assert resp.status == 201 and put["bus"] == "default"

    # THEN the function got each paid order twice: whole, and through the input transformer
    seen = [s["seen"] for s in collect(sqs, stack.queues["SeenQueue"]["QueueUrl"], want=5)]
    whole = [s for s in seen if "transformed" not in s]
    shaped = [s["transformed"] for s in seen if "transformed" in s]
    rule_name = stack.template.get_att("PaidOrders", "RuleName")
    assert sorted(shaped, key=lambda s: s["order"]["id"]) == [
        {"order": {"id": "o1"}, "status": "PAID-CARD", "rule": rule_name},
        {"order": {"id": "o2"}, "status": "PAID-CASH", "rule": rule_name},
    ]
    assert len(whole) == 3, whole
    for event in whole:  # EventBridge's Lambda event, as Powertools reads it
        model = EventBridgeModel.model_validate(event)
        assert model.version == "0" and model.account and model.region == stack.region
        assert list(event) == [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        ]
    by_source = {(e["source"], e["detail"].get("order", {}).get("id")): e for e in whole}
    assert set(by_source) == {("shop.orders", "o1"), ("shop.orders", "o2"), ("shop.audit", None)}
    assert by_source[("shop.orders", "o1")]["id"] == result.payload["ids"][0]
    assert by_source[("shop.orders", "o2")]["id"] == answer["Entries"][0]["EventId"]
    assert by_source[("shop.audit", None)]["id"] == put["eventId"]
    assert by_source[("shop.orders", "o2")]["detail-type"] == "Order"

    # AND the queue target got the two paid orders' events as message bodies
    queued = collect(sqs, stack.queues["OrdersQueue"]["QueueUrl"], want=2)
    assert sorted(q["detail"]["order"]["id"] for q in queued) == ["o1", "o2"]
    assert all(q["source"] == "shop.orders" and q["version"] == "0" for q in queued)


def dead_letters(sqs: Any, url: str, want: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The messages (body parsed, attributes as strings) on a dead-letter queue, once ``want``
    have arrived, and a little more."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            attributes = message.get("MessageAttributes", {})
            seen.append(
                {
                    "body": json.loads(message["Body"]),
                    "attributes": {k: v["StringValue"] for k, v in attributes.items()},
                }
            )
        if len(seen) >= want:
            deadline = min(deadline, time.monotonic() + 1.0)
        if not messages:
            time.sleep(0.2)
    return seen


def test_undeliverable_events_go_to_the_targets_dead_letter_queue(run_app):
    # GIVEN the dead-letters app running: a rule whose targets are a queue that does not exist
    # (with a DeadLetterConfig, and without one) and a queue with MaximumRetryAttempts 0
    stack = run_app("dead_letters_app")
    assert not stack.refused, stack.refused
    assert not [line for line in stack.lines if "RetryPolicy" in line or "DeadLetter" in line]
    events, sqs = stack.dynamo.client("events"), stack.dynamo.client("sqs")
    dlq_url = stack.queues["DeadLetters"]["QueueUrl"]
    doomed_url = stack.queues["DoomedQueue"]["QueueUrl"]
    rule_arn = stack.template.get_att("Shipped", "Arn")
    doomed_arn = stack.template.get_att("DoomedQueue", "Arn")

    def put(parcel: str) -> str:
        detail = json.dumps({"parcel": parcel})
        answer = events.put_events(
            Entries=[
                {
                    "EventBusName": "shipping",
                    "Source": "shop.shipping",
                    "DetailType": "Shipped",
                    "Detail": detail,
                }
            ]
        )
        assert answer["FailedEntryCount"] == 0
        return str(answer["Entries"][0]["EventId"])

    # WHEN a parcel ships while the doomed queue exists
    first = put("p1")
    # THEN the doomed queue has it, and the missing queue's event is in the dead-letter queue
    assert [b["detail"]["parcel"] for b in collect(sqs, doomed_url, want=1)] == ["p1"]
    (dead,) = dead_letters(sqs, dlq_url, want=1)
    assert dead["body"]["id"] == first and dead["body"]["detail"] == {"parcel": "p1"}
    assert dead["body"]["source"] == "shop.shipping" and dead["body"]["version"] == "0"
    attrs = dead["attributes"]
    assert attrs["RULE_ARN"] == rule_arn
    assert attrs["TARGET_ARN"].endswith(":eventflow-no-such-queue")
    assert attrs["ERROR_CODE"] == "NO_RESOURCE" and attrs["ERROR_MESSAGE"]
    assert attrs["RETRY_ATTEMPTS"] == "0" and "EXHAUSTED_RETRY_CONDITION" not in attrs
    # AND the target without a dead-letter queue dropped it, with one line
    dropped = [line for line in stack.lines if "Targets[nodlq]" in line and first in line]
    assert len(dropped) == 1 and "dropped (no DeadLetterConfig)" in dropped[0]

    # WHEN the doomed queue is deleted and another parcel ships
    sqs.delete_queue(QueueUrl=doomed_url)
    second = put("p2")
    # THEN both failed targets' events are in the dead-letter queue, at once, not retried
    letters = dead_letters(sqs, dlq_url, want=2)
    by_target = {d["attributes"]["TARGET_ARN"]: d for d in letters}
    assert len(letters) == 2 and doomed_arn in by_target
    doomed = by_target[doomed_arn]
    assert doomed["body"]["id"] == second and doomed["body"]["detail"] == {"parcel": "p2"}
    assert doomed["attributes"]["ERROR_CODE"] == "NO_RESOURCE"
    assert doomed["attributes"]["RETRY_ATTEMPTS"] == "0"
    assert doomed["attributes"]["RULE_ARN"] == rule_arn
