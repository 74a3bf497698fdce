"""A subscription's ``RedrivePolicy``: its dead-letter queue, and which failed deliveries reach it.

"Amazon SNS dead-letter queues (DLQs)" (SNS developer guide,
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html) and "Configuring an Amazon
SNS dead-letter queue for a subscription":

- ``RedrivePolicy`` (an object or JSON text) names the queue in ``deadLetterTargetArn``, an SQS
  queue in the subscription's account and Region; "FIFO topic subscriptions use FIFO queues, and
  standard topic subscriptions use standard queues" (a mismatch, or an ARN that is not a queue's,
  is refused at start-up).
- A *client-side* error ("when an owner deletes the endpoint ... or changes the policy attached
  to the subscribed endpoint") is not retried: the message goes to the dead-letter queue at once,
  or is discarded without one. Here: the endpoint queue does not exist, access is denied, or the
  queue refuses the request as invalid (the same reading as EventBridge's,
  ``eventbridge/retry.py``), and a raw delivery with more than 10 message attributes ("Amazon SNS
  message attributes": "discarded as client side errors").
- A *server-side* error (the endpoint unavailable, throttled, a connection failure) is retried:
  SNS retries SQS and Lambda endpoints "up to 100,015 times, over 23 days" ("Amazon SNS message
  delivery retries"). Locally the message stays in the subscription's tap and is received again
  after the tap's visibility timeout (30 seconds), until it is delivered or the stack stops: SNS's
  backoff phases and its 23 days are not counted.

The dead letter is the message as the subscription would have received it: SNS's JSON envelope,
or with ``RawMessageDelivery`` the message with its attributes as SQS message attributes (the
guide documents no attributes of SNS's own on it); a raw message with more than 10 attributes,
which SQS cannot carry, goes as the envelope. A FIFO topic's dead letter keeps its message group
and deduplication id. A ``lambda`` subscription's function is invoked asynchronously and locally
always exists while the stack runs, so its dead-letter queue receives nothing (the function's own
errors are its asynchronous retries and dead-letter queue, ``runtime/async_queue.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eventflow_local.eventsources.eventbridge.retry import Failure, classify


def read_redrive(
    props: Mapping[str, Any], fifo_topic: bool, where: str
) -> tuple[str | None, str | None]:
    """The dead-letter queue's ARN of a subscription's (resolved) properties, or None; and the
    line that refuses the subscription when SNS would refuse its policy (None: accepted)."""
    raw = props.get("RedrivePolicy")
    if raw in (None, "", {}):
        return None, None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None, f"{where}: RedrivePolicy is not JSON"
    if not isinstance(raw, Mapping) or not raw.get("deadLetterTargetArn"):
        return None, f"{where}: RedrivePolicy.deadLetterTargetArn: required (an SQS queue's ARN)"
    arn = str(raw["deadLetterTargetArn"])
    if ":sqs:" not in arn:
        return None, f"{where}: RedrivePolicy.deadLetterTargetArn: {arn}: not an SQS queue"
    if fifo_topic != arn.endswith(".fifo"):
        kind = "a FIFO queue" if fifo_topic else "a standard queue"
        topic = "FIFO" if fifo_topic else "standard"
        return None, (
            f"{where}: RedrivePolicy.deadLetterTargetArn: {arn}: a {topic} topic's subscription "
            f"uses {kind} as its dead-letter queue"
        )
    return arn, None


def delivery_failure(exc: BaseException) -> tuple[Failure, bool]:
    """Why a delivery failed, and whether SNS takes it as a client-side error (not retried)."""
    failure = classify(exc)
    return failure, not failure.retried
