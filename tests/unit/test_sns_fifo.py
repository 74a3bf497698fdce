"""SNS FIFO topics as AWS documents them: a duplicate (by its MessageDeduplicationId, or by the
hash of its body on a content-based topic) within 5 minutes is not delivered ("Message
deduplication for FIFO topics"); an SQS FIFO queue subscribes to FIFO topics only ("Fanout to
Amazon SQS queues")."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

from eventflow_local.eventsources.sns.fifo import FifoDeduplicator, deduplication_id
from eventflow_local.eventsources.sns.subscriptions import plan_subscriptions
from tests.unit.template_files import load

MESSAGE_IDS = itertools.count()


def tap_message(text: str, group: str, dedup: str | None = None) -> tuple[dict, dict]:
    """A message of a subscription's tap, as moto gives it: the SNS envelope as its body, and
    as its deduplication id the publisher's, else the hash of the body (the tap's own)."""
    envelope = {"Type": "Notification", "MessageId": f"m-{next(MESSAGE_IDS)}", "Message": text}
    body = json.dumps(envelope)
    given = dedup or hashlib.sha256(body.encode()).hexdigest()
    attrs = {"MessageGroupId": group, "MessageDeduplicationId": given}
    return {"Body": body, "Attributes": attrs}, envelope


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_same_body_is_a_duplicate_on_a_content_based_topic_for_five_minutes():
    # GIVEN a topic's deduplication and a message admitted
    clock = Clock()
    fifo = FifoDeduplicator(clock=clock)
    first = fifo.admit(*tap_message("price 1", "eur"))
    # THEN its id is the SHA-256 of the message body (not of SNS's envelope)
    assert first == hashlib.sha256(b"price 1").hexdigest()
    # AND the same body again, in another group even, is a duplicate within the interval
    clock.now = 299.0
    assert fifo.admit(*tap_message("price 1", "usd")) is None
    # AND is delivered once the interval has passed since the first
    clock.now = 300.5
    assert fifo.admit(*tap_message("price 1", "eur")) == first


def test_an_explicit_deduplication_id_wins_over_the_body():
    fifo = FifoDeduplicator(clock=Clock())
    message, envelope = tap_message("a", "g", dedup="order-7")
    assert deduplication_id(message, envelope) == "order-7"
    assert fifo.admit(message, envelope) == "order-7"
    # a different body under the same id is a duplicate; the same body under another id is not
    assert fifo.admit(*tap_message("b", "g", dedup="order-7")) is None
    assert fifo.admit(*tap_message("a", "g", dedup="order-8")) == "order-8"


def test_a_message_group_scope_deduplicates_within_each_group_only():
    fifo = FifoDeduplicator(scope="MessageGroup", clock=Clock())
    assert fifo.admit(*tap_message("x", "eur", dedup="d"))
    assert fifo.admit(*tap_message("x", "usd", dedup="d"))
    assert fifo.admit(*tap_message("x", "eur", dedup="d")) is None


TOPICS = """
Resources:
  Standard:
    Type: AWS::SNS::Topic
  Fifo:
    Type: AWS::SNS::Topic
    Properties: {FifoTopic: true, ContentBasedDeduplication: true}
  FifoQueue:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true}
  PlainQueue:
    Type: AWS::SQS::Queue
"""


def subscription(lid: str, topic: str, queue: str) -> str:
    return f"""
  {lid}:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref {topic}
      Protocol: sqs
      Endpoint: !GetAtt {queue}.Arn
"""


def test_a_fifo_queue_on_a_standard_topic_is_refused_and_a_standard_queue_on_a_fifo_one_is_not(
    tmp_path: Path,
):
    # GIVEN a FIFO queue subscribed to a standard topic, and a standard and a FIFO queue to a
    # FIFO topic
    body = TOPICS + "".join(
        subscription(*args)
        for args in (
            ("FifoOnStandard", "Standard", "FifoQueue"),
            ("PlainOnFifo", "Fifo", "PlainQueue"),
            ("FifoOnFifo", "Fifo", "FifoQueue"),
        )
    )
    # WHEN the subscriptions are planned
    plan: Any = plan_subscriptions(load(tmp_path, body))
    # THEN the first is refused in one line, the others start
    assert plan.refused == [
        "FifoOnStandard: a FIFO queue subscribes to FIFO topics only, not to standard topic Standard"
    ]
    assert sorted(s.logical_id for s in plan.subscriptions) == ["FifoOnFifo", "PlainOnFifo"]
    assert all(s.fifo_topic for s in plan.subscriptions)


def test_a_message_retried_after_a_server_side_error_is_not_its_own_duplicate():
    from eventflow_local.eventsources.sns.fifo import FifoDeduplicator

    # GIVEN a FIFO topic's deduplicator that admitted one message
    fifo = FifoDeduplicator(clock=lambda: 0.0)
    message = {"Attributes": {"MessageGroupId": "g", "MessageDeduplicationId": "d1"}}
    assert fifo.admit(message, {"MessageId": "m1", "Message": "x"}) == "d1"
    # WHEN the same message comes back from the tap (its delivery failed and is retried)
    # THEN it is admitted again; another message with the same deduplication id is not
    assert fifo.admit(message, {"MessageId": "m1", "Message": "x"}) == "d1"
    assert fifo.admit(message, {"MessageId": "m2", "Message": "x"}) is None
