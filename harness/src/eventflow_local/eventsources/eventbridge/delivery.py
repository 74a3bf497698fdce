"""Events put on a bus delivered to the targets of its matching rules, by the harness.

Design: moto's events backend matches rules itself and delivers to SQS targets, but a Lambda
target would go to moto's own Lambda backend, never the harness's workers, and its pattern
matching and input transformation differ from EventBridge's in places. So the template's rules
are created in moto without targets (``services/events.py``: ``ListRules`` answers), and each bus
that has an enabled rule gets a *tap*: an internal queue of the emulator
(``eventflow-events-<bus>-<hash>``) and an internal rule on the bus that matches every event
(``{"source": [{"prefix": ""}]}``) with that queue as its only target. Every ``PutEvents`` (from a
function through ``AWS_ENDPOINT_URL``, from boto3 or the AWS CLI, from ``eventflow-local events
put``, from the console) lands in the tap as the event moto built, with the id ``PutEvents``
answered. One thread per bus polls its tap with short polls (the moto server serves one request
at a time), matches each event against the bus's rules (``eventsources/filters.py``, EventBridge's
pattern grammar: "Amazon EventBridge event patterns") and delivers to every target of every
matching rule ("Amazon EventBridge targets"), after ``Input``/``InputPath``/``InputTransformer``
(``schedule/inputs.py``):

- a function: invoked asynchronously, as EventBridge invokes Lambda ("Using Lambda with Amazon
  EventBridge", https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge.html), through the
  function's event queue (``runtime/async_queue.py``: its retries, destinations, dead-letter
  queue), else on a thread of its own. The event is ``{"version": "0", "id", "detail-type",
  "source", "account", "time", "region", "resources", "detail"}``.
- an SQS queue: the event (or the target's input) as the message body, JSON text; a FIFO queue
  gets ``SqsParameters.MessageGroupId`` and the event id as deduplication id.
- an SNS topic: the same text published as the message.

A delivery that fails is retried or dead-lettered as EventBridge does (``retry.py``: the
target's ``RetryPolicy`` and ``DeadLetterConfig``, "Event retry policy and using dead-letter
queues"): an error EventBridge retries (throttling, a connection failure ...) is attempted again
after an exponential backoff with jitter, on the bus's retry thread (``redelivery.py``), so that
nothing else waits for it; an error it does not retry (a queue or topic that does not exist) and
an event whose retries ran out go to the target's dead-letter queue, a queue of the emulator read
with boto3 ``receive_message``, with EventBridge's message attributes; without one the event is
dropped, with one log line. A Lambda target is an asynchronous invocation, handed to the
function's event queue at once: only a failed ``Invoke`` itself (throttled, the function deleted)
would be EventBridge's to retry, which does not happen locally; the function's own errors are its
asynchronous retries, destinations and dead-letter queue (``runtime/async_queue.py``), as on AWS.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from eventflow_local.eventsources.eventbridge.redelivery import Pending, Redeliveries
from eventflow_local.eventsources.eventbridge.retry import (
    DEFAULT_DELAY_SCALE,
    Failure,
    backoff,
    classify,
    dead_letter_attributes,
    decide,
)
from eventflow_local.eventsources.eventbridge.rules import LAMBDA, SQS, RuleSpec, RuleTarget
from eventflow_local.eventsources.filters import matches
from eventflow_local.eventsources.polling import PollLoop
from eventflow_local.eventsources.schedule.inputs import target_input
from eventflow_local.runtime.async_queue import invoke_async
from eventflow_local.template.specs import EventSpec

#: the key order of an EventBridge event
EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region")
MATCH_ALL = {"source": [{"prefix": ""}]}


def tap_name(bus: str) -> str:
    digest = hashlib.sha1(bus.encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in bus)[:40]
    return f"eventflow-events-{stem}-{digest}"


def aws_event(body: Mapping[str, Any], account: str) -> dict[str, Any]:
    """The event as EventBridge delivers it, from the tap's message (moto's event)."""
    event: dict[str, Any] = {"version": "0", **{k: body[k] for k in EVENT_KEYS if k in body}}
    event.setdefault("account", account)
    event["version"] = str(event["version"])
    ordered = {k: event[k] for k in EVENT_KEYS if k in event}
    ordered["resources"] = list(body.get("resources") or [])
    ordered["detail"] = body.get("detail", {})
    return ordered


def target_text(payload: Any) -> str:
    """A target's input as the text of a message."""
    return payload if isinstance(payload, str) else json.dumps(payload)


class BusDelivery(PollLoop):
    """``start()`` polls one bus's tap on a thread of its own until ``stop()``."""

    loop_kind = "events"

    def __init__(
        self,
        bus: str,
        rules: list[RuleSpec],
        events: Any,
        sqs: Any,
        sns: Any,
        invokers: Mapping[str, Any],
        *,
        log: Callable[[str], None] = print,
        poll_interval: float = 0.2,
        delay_scale: float = DEFAULT_DELAY_SCALE,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.bus = bus
        self.rules = rules
        self.log = log
        self.poll_interval = poll_interval
        self.invokers = dict(invokers)
        self._sqs, self._sns = sqs, sns
        #: (function, EventSpec) of each Lambda target: the report's trigger lines
        self.triggers = [
            (t.function, EventSpec(rule.logical_id, "EventBridgeRule", {"EventBus": bus}))
            for rule in rules
            for t in rule.targets
            if t.kind == LAMBDA
        ]
        self.tap_url = str(sqs.create_queue(QueueName=tap_name(bus))["QueueUrl"])
        tap_arn = sqs.get_queue_attributes(QueueUrl=self.tap_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        name = tap_name(bus)[:64]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(MATCH_ALL))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": tap_arn}])
        self.account = tap_arn.split(":")[4]
        self._urls: dict[str, str] = {}
        self.delay_scale = delay_scale
        self._rng = rng
        self.retries = Redeliveries(
            self._retry, name=f"events-retry-{bus}", clock=clock, log=self.log
        )
        PollLoop.__init__(self)
        self.stats = {
            "events": 0,
            "matched": 0,
            "delivered": 0,
            "failed": 0,
            "retried": 0,
            "dead_lettered": 0,
            "dropped": 0,
        }

    @property
    def loop_subject(self) -> str:
        return self.bus

    def poll_once(self) -> int:
        """Deliver what the tap holds; the number of events taken (0: none)."""
        answer = self._sqs.receive_message(
            QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages = answer.get("Messages", [])
        for message in messages:
            self._sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])
            try:
                body = json.loads(message["Body"])
            except ValueError:
                continue
            self.deliver(aws_event(body, self.account))
        return len(messages)

    def deliver(self, event: dict[str, Any]) -> int:
        """Deliver ``event`` to the targets of every matching rule; how many rules matched."""
        self.stats["events"] += 1
        matched = 0
        for rule in self.rules:
            if not matches(rule.pattern, event):
                continue
            matched += 1
            for target in rule.targets:
                self._attempt(Pending(rule, target, event, self.retries.clock()))
        self.stats["matched"] += matched
        return matched

    def stop(self, timeout: float = 10.0) -> None:
        PollLoop.stop(self, timeout)
        self.retries.stop()

    def _retry(self, pending: Pending) -> None:
        pending.retries += 1
        self.stats["retried"] += 1
        self._attempt(pending)

    def _attempt(self, pending: Pending) -> None:
        """One attempt of one delivery; a failure retried later, dead-lettered or dropped."""
        try:
            self._deliver(pending.rule, pending.target, pending.event)
        except Exception as exc:
            self.stats["failed"] += 1
            failure = classify(exc)
        else:
            self.stats["delivered"] += 1
            return
        age = (self.retries.clock() - pending.first_at) / self.delay_scale
        delay = backoff(pending.retries + 1, self._rng)
        verdict = decide(pending.target.retry, failure, pending.retries, age, delay)
        if verdict.retry:
            self.retries.schedule(pending, verdict.delay_s * self.delay_scale)
            return
        self._dead_letter(pending, failure, verdict.exhausted)

    def _dead_letter(self, pending: Pending, failure: Failure, exhausted: str | None) -> None:
        rule, target, event = pending.rule, pending.target, pending.event
        where = f"[events] {rule.logical_id}.Targets[{target.target_id}]: event {event.get('id')}"
        why = f"{failure.code}, {failure.message}; {pending.retries} retry(ies)" + (
            f", {exhausted} exhausted" if exhausted else ""
        )
        queue = target.retry.dead_letter_name
        if queue is None:
            self.stats["dropped"] += 1
            self.log(f"{where} not delivered ({why}): dropped (no DeadLetterConfig)")
            return
        attributes = dead_letter_attributes(
            rule.arn, target.arn, failure, pending.retries, exhausted
        )
        try:
            self._sqs.send_message(
                QueueUrl=self._queue_url(queue),
                MessageBody=json.dumps(event),
                MessageAttributes=attributes,
            )
        except Exception as exc:
            self.stats["dropped"] += 1
            self.log(
                f"{where} not delivered ({why}) nor sent to its dead-letter queue {queue} "
                f"({type(exc).__name__}: {exc}): dropped"
            )
            return
        self.stats["dead_lettered"] += 1
        self.log(f"{where} not delivered ({why}): sent to its dead-letter queue {queue}")

    def _deliver(self, rule: RuleSpec, target: RuleTarget, event: dict[str, Any]) -> None:
        payload = target_input(target.config, event, rule.arn, rule.name)
        if target.kind == LAMBDA:
            assert target.function is not None
            self._invoke(target.function, payload, f"eventbridge:{rule.logical_id}")
        elif target.kind == SQS:
            kwargs: dict[str, Any] = {
                "QueueUrl": self._queue_url(target.resource_name),
                "MessageBody": target_text(payload),
            }
            if target.resource_name.endswith(".fifo"):
                kwargs["MessageGroupId"] = str(target.config["SqsParameters"]["MessageGroupId"])
                kwargs["MessageDeduplicationId"] = str(event.get("id"))
            self._sqs.send_message(**kwargs)
        else:
            self._sns.publish(TopicArn=target.arn, Message=target_text(payload))

    def _invoke(self, function: str, payload: Any, trigger: str) -> None:
        self._keep(
            invoke_async(
                self.invokers[function], payload, trigger, name=f"events-invoke-{function}"
            )
        )

    def _queue_url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = str(self._sqs.get_queue_url(QueueName=name)["QueueUrl"])
        return self._urls[name]
