"""A rule target's RetryPolicy and DeadLetterConfig, as EventBridge applies them ("Event retry
policy and using dead-letter queues"): which failures are retried, the backoff, when retries end,
the dead letter's attributes, and a bus delivering with retries waiting on their own thread (fake
SQS and EventBridge clients, a fake clock; no server)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from eventflow_local.eventsources.eventbridge.delivery import BusDelivery
from eventflow_local.eventsources.eventbridge.redelivery import Pending
from eventflow_local.eventsources.eventbridge.retry import (
    EVENT_AGE_EXHAUSTED,
    MAX_DELAY_S,
    RETRY_ATTEMPTS_EXHAUSTED,
    Failure,
    TargetRetry,
    backoff,
    classify,
    dead_letter_attributes,
    decide,
    read_retry,
)
from eventflow_local.eventsources.eventbridge.rules import SQS, RuleSpec, RuleTarget

DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:dead-letters"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/orders/Shipped"


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "SendMessage",
    )


def test_retry_policy_and_dead_letter_config_are_read_within_eventbridges_ranges() -> None:
    # GIVEN no RetryPolicy WHEN read THEN EventBridge's defaults: 185 retries, 24 hours
    assert read_retry({}, "R.Targets[t]") == (TargetRetry(185, 86400.0, None), None)
    # GIVEN a policy and a standard queue as dead-letter queue WHEN read THEN both are kept
    config = {
        "RetryPolicy": {"MaximumRetryAttempts": "0", "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": DLQ_ARN},
    }
    retry, refusal = read_retry(config, "R.Targets[t]")
    assert refusal is None and retry == TargetRetry(0, 60.0, DLQ_ARN)
    assert retry.dead_letter_name == "dead-letters"
    # GIVEN values PutTargets refuses WHEN read THEN each is one line naming the target
    for bad, words in (
        ({"RetryPolicy": {"MaximumRetryAttempts": 186}}, "range 0-185"),
        ({"RetryPolicy": {"MaximumEventAgeInSeconds": 59}}, "range 60-86400"),
        ({"RetryPolicy": {"MaximumRetryAttempts": "many"}}, "not a number"),
        ({"DeadLetterConfig": {"Arn": "arn:aws:sns:us-east-1:1:topic"}}, "not an SQS queue"),
        ({"DeadLetterConfig": {"Arn": DLQ_ARN + ".fifo"}}, "not FIFO"),
    ):
        _, refusal = read_retry(bad, "R.Targets[t]")
        assert refusal is not None and refusal.startswith("R.Targets[t].") and words in refusal


def test_a_missing_resource_or_permission_is_not_retried_and_throttling_is() -> None:
    # GIVEN the errors SQS, SNS and the network give WHEN classified THEN EventBridge's codes
    cases = {
        "QueueDoesNotExist": ("NO_RESOURCE", False),
        "AWS.SimpleQueueService.NonExistentQueue": ("NO_RESOURCE", False),
        "NotFound": ("NO_RESOURCE", False),
        "AccessDenied": ("NO_PERMISSIONS", False),
        "InvalidParameterValue": ("INVALID_PARAMETER", False),
        "Throttling": ("THROTTLING", True),
        "SomethingElse": ("SDK_CLIENT_ERROR", True),
    }
    for code, (want, retried) in cases.items():
        failure = classify(client_error(code))
        assert (failure.code, failure.retried) == (want, retried), code
        assert code in failure.message
    assert classify(client_error("InternalFailure", 500)).code == "INTERNAL_ERROR"
    assert classify(EndpointConnectionError(endpoint_url="http://x")).code == "CONNECTION_FAILURE"
    assert classify(RuntimeError("boom")) == Failure("UNKNOWN", "RuntimeError: boom")


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    # GIVEN the largest draw WHEN retries go on THEN the bound doubles, up to the cap
    assert [backoff(n, lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(20, lambda: 1.0) == MAX_DELAY_S and backoff(185, lambda: 1.0) == MAX_DELAY_S
    # AND a draw below it is that fraction of the bound (jitter)
    assert backoff(3, lambda: 0.25) == 1.0


def test_retries_end_at_the_first_limit_reached_and_unretried_errors_end_at_once() -> None:
    throttled, missing = Failure("THROTTLING", "slow"), Failure("NO_RESOURCE", "gone")
    policy = TargetRetry(max_retries=2, max_age_s=60)
    # GIVEN a retried error with retries and age left WHEN decided THEN retried after the delay
    assert decide(policy, throttled, 0, 0.0, 4.0).retry
    assert decide(policy, throttled, 0, 0.0, 4.0).delay_s == 4.0
    # GIVEN the retries used up THEN dead-lettered, the condition MaximumRetryAttempts
    assert decide(policy, throttled, 2, 10.0, 1.0).exhausted == RETRY_ATTEMPTS_EXHAUSTED
    # GIVEN the next attempt would come after the maximum age THEN MaximumEventAgeInSeconds
    assert decide(policy, throttled, 1, 58.0, 4.0).exhausted == EVENT_AGE_EXHAUSTED
    # GIVEN MaximumRetryAttempts 0 THEN the first failure goes straight to the dead-letter queue
    zero = decide(TargetRetry(max_retries=0), throttled, 0, 0.0, 0.5)
    assert not zero.retry and zero.exhausted == RETRY_ATTEMPTS_EXHAUSTED
    # GIVEN an error EventBridge does not retry THEN straight there, no exhausted condition
    gone = decide(policy, missing, 0, 0.0, 1.0)
    assert not gone.retry and gone.exhausted is None


def test_the_dead_letter_carries_eventbridges_attributes() -> None:
    # GIVEN a failure whose retries ran out WHEN its attributes are made THEN the documented six
    attrs = dead_letter_attributes(
        RULE_ARN, "arn:aws:sqs:r:1:q", Failure("THROTTLING", "x" * 2000), 3, "MaximumRetryAttempts"
    )
    assert list(attrs) == [
        "RULE_ARN",
        "TARGET_ARN",
        "ERROR_CODE",
        "ERROR_MESSAGE",
        "EXHAUSTED_RETRY_CONDITION",
        "RETRY_ATTEMPTS",
    ]
    assert all(a["DataType"] == "String" for a in attrs.values())
    assert attrs["RETRY_ATTEMPTS"]["StringValue"] == "3"
    assert len(attrs["ERROR_MESSAGE"]["StringValue"]) == 1024
    # GIVEN an error not retried THEN no EXHAUSTED_RETRY_CONDITION
    attrs = dead_letter_attributes(RULE_ARN, "t", Failure("NO_RESOURCE", "gone"), 0, None)
    assert "EXHAUSTED_RETRY_CONDITION" not in attrs and attrs["ERROR_CODE"]["StringValue"]


# ------------------------------------------------------------------ a bus with fake clients
class FakeSqs:
    """Queues by name; ``fail`` maps a queue name to the errors its next sends raise."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.fail: dict[str, list[Exception]] = {}
        self.lock = threading.Lock()

    def create_queue(self, QueueName: str, **_: Any) -> dict[str, str]:
        self.sent.setdefault(QueueName, [])
        return {"QueueUrl": f"http://q/{QueueName}"}

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        if QueueName not in self.sent:
            raise client_error("QueueDoesNotExist")
        return {"QueueUrl": f"http://q/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        name = QueueUrl.rsplit("/", 1)[-1]
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:123456789012:{name}"}}

    def send_message(self, QueueUrl: str, **kwargs: Any) -> dict[str, str]:
        name = QueueUrl.rsplit("/", 1)[-1]
        with self.lock:
            if self.fail.get(name):
                raise self.fail[name].pop(0)
            self.sent[name].append(kwargs)
        return {"MessageId": "m"}


class FakeEvents:
    def put_rule(self, **_: Any) -> None: ...
    def put_targets(self, **_: Any) -> None: ...


def bus_with(targets: list[RuleTarget], sqs: FakeSqs, **options: Any) -> tuple[BusDelivery, list]:
    rule = RuleSpec("Shipped", "shipped", RULE_ARN, "orders", {"source": ["shop"]}, tuple(targets))
    lines: list[str] = []
    bus = BusDelivery("orders", [rule], FakeEvents(), sqs, None, {}, log=lines.append, **options)
    return bus, lines


def queue_target(tid: str, queue: str, retry: TargetRetry) -> RuleTarget:
    return RuleTarget(tid, SQS, f"arn:aws:sqs:us-east-1:123456789012:{queue}", {}, None, retry)


def wait_for(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


EVENT = {"version": "0", "id": "e1", "source": "shop", "detail": {"n": 1}}


def test_a_missing_target_queue_sends_the_event_straight_to_the_dead_letter_queue() -> None:
    # GIVEN a target queue the emulator does not have, with a dead-letter queue
    sqs = FakeSqs()
    sqs.create_queue(QueueName="dead-letters")
    bus, lines = bus_with([queue_target("gone", "no-such", TargetRetry(dead_letter=DLQ_ARN))], sqs)
    # WHEN an event matches
    bus.deliver(EVENT)
    # THEN it is in the dead-letter queue at once, the event as body, NO_RESOURCE, no retry
    (dead,) = sqs.sent["dead-letters"]
    assert (
        dead["MessageBody"] == '{"version": "0", "id": "e1", "source": "shop", "detail": {"n": 1}}'
    )
    attrs = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attrs["ERROR_CODE"] == "NO_RESOURCE" and attrs["RETRY_ATTEMPTS"] == "0"
    assert attrs["RULE_ARN"] == RULE_ARN and attrs["TARGET_ARN"].endswith(":no-such")
    assert "EXHAUSTED_RETRY_CONDITION" not in attrs
    assert bus.retries.waiting == 0 and bus.stats["dead_lettered"] == 1
    assert any("sent to its dead-letter queue dead-letters" in line for line in lines)


def test_without_a_dead_letter_queue_the_event_is_dropped_with_one_line() -> None:
    sqs = FakeSqs()
    bus, lines = bus_with([queue_target("gone", "no-such", TargetRetry())], sqs)
    bus.deliver(EVENT)
    assert bus.stats["dropped"] == 1
    assert [line for line in lines if "e1" in line] == [
        line for line in lines if "dropped (no DeadLetterConfig)" in line
    ]
    assert len(lines) == 1


@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_throttled_target_is_retried_then_dead_lettered(max_retries: int) -> None:
    # GIVEN a queue that is throttled more times than the target's MaximumRetryAttempts allow
    sqs = FakeSqs()
    for name in ("dead-letters", "orders"):
        sqs.create_queue(QueueName=name)
    sqs.fail["orders"] = [client_error("Throttling") for _ in range(max_retries + 5)]
    retry = TargetRetry(max_retries=max_retries, dead_letter=DLQ_ARN)
    bus, _ = bus_with([queue_target("q", "orders", retry)], sqs, delay_scale=0.001)
    try:
        # WHEN an event matches
        bus.deliver(EVENT)
        # THEN after its retries it is in the dead-letter queue, MaximumRetryAttempts exhausted
        wait_for(lambda: sqs.sent["dead-letters"])
        attrs = {
            k: v["StringValue"] for k, v in sqs.sent["dead-letters"][0]["MessageAttributes"].items()
        }
        assert attrs["ERROR_CODE"] == "THROTTLING"
        assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        assert attrs["RETRY_ATTEMPTS"] == str(max_retries)
        assert bus.stats["failed"] == max_retries + 1 and sqs.sent["orders"] == []
    finally:
        bus.stop()


def test_a_retry_that_succeeds_delivers_once_and_nothing_waits_for_it() -> None:
    # GIVEN a queue throttled once and a target with a long backoff (AWS's own times)
    sqs = FakeSqs()
    for name in ("slow", "fast"):
        sqs.create_queue(QueueName=name)
    sqs.fail["slow"] = [client_error("Throttling")]
    clock = [1000.0]
    bus, _ = bus_with(
        [queue_target("slow", "slow", TargetRetry()), queue_target("fast", "fast", TargetRetry())],
        sqs,
        delay_scale=1.0,
        clock=lambda: clock[0],
        rng=lambda: 1.0,
    )
    try:
        # WHEN two events match, one after the other
        bus.deliver(EVENT)
        bus.deliver({**EVENT, "id": "e2"})
        # THEN the second reached both at once: the first's retry waits without holding it up
        assert [m["MessageBody"].count("e2") for m in sqs.sent["fast"]] == [0, 1]
        assert len(sqs.sent["slow"]) == 1 and bus.retries.waiting == 1
        # WHEN the backoff (one second, the first retry's bound) is over
        clock[0] += 1.0
        with bus.retries._wake:
            bus.retries._wake.notify()
        wait_for(lambda: len(sqs.sent["slow"]) == 2)
        # THEN the first event reached it too, once, after one retry
        assert bus.stats["retried"] == 1 and bus.retries.waiting == 0
    finally:
        bus.stop()


def test_retries_still_waiting_are_dropped_at_stop() -> None:
    sqs = FakeSqs()
    sqs.create_queue(QueueName="orders")
    sqs.fail["orders"] = [client_error("Throttling")]
    bus, lines = bus_with([queue_target("q", "orders", TargetRetry())], sqs, delay_scale=1.0)
    bus.deliver(EVENT)
    assert bus.retries.waiting == 1
    bus.stop()
    assert bus.retries.waiting == 0
    assert any("1 retry(ies) still waiting dropped at stop" in line for line in lines)


def test_the_events_age_is_counted_on_the_scaled_clock() -> None:
    # GIVEN a throttled target with a 60-second MaximumEventAgeInSeconds, waits scaled by 1/100
    sqs = FakeSqs()
    for name in ("dead-letters", "orders"):
        sqs.create_queue(QueueName=name)
    sqs.fail["orders"] = [client_error("Throttling")]
    clock = [500.0]
    retry = TargetRetry(max_retries=185, max_age_s=60, dead_letter=DLQ_ARN)
    bus, _ = bus_with(
        [queue_target("q", "orders", retry)], sqs, delay_scale=0.01, clock=lambda: clock[0]
    )
    # WHEN it fails again 0.7 local seconds (70 AWS seconds) after the event's first attempt
    bus._attempt(Pending(bus.rules[0], bus.rules[0].targets[0], EVENT, first_at=499.3, retries=3))
    # THEN its retries end on its age, as they would on AWS
    (dead,) = sqs.sent["dead-letters"]
    attrs = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert attrs["RETRY_ATTEMPTS"] == "3" and bus.retries.waiting == 0
