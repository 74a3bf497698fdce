"""SNS deliveries of one subscription, with AWS's semantics, by the harness.

Design: moto's SNS delivers to ``sqs`` endpoints itself but would call a ``lambda`` endpoint
through its own Lambda backend, never the harness's workers, and applies its own filter policy
matching. So the template's subscriptions are not created in moto; instead each gets a *tap*:
an internal queue of the emulator (``eventflow-sns-<subscription>-<hash>``, ``.fifo`` for a FIFO
topic) subscribed to its topic in moto, without a filter and without raw delivery. Every publish
(from a function through ``AWS_ENDPOINT_URL``, from boto3 or the CLI, from an SNS OnFailure
destination) lands in each tap as SNS's JSON envelope, with its message id, subject, attributes,
timestamp and signature. One thread per subscription polls its tap with short polls (the moto
server serves one request at a time), applies the subscription's filter policy
(``policy.py``) and delivers:

- protocol ``lambda`` ("Invoking Lambda functions with Amazon SNS notifications"): the function
  is invoked asynchronously, one message per invocation, with the event
  ``{"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn",
  "Sns": {"Type": "Notification", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
  "SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes":
  {name: {"Type", "Value"}}}}]}``. The invocation runs on a thread of its own (the runtime's
  invoke); the poller does not wait for it.
- protocol ``sqs`` ("Fanout to Amazon SQS queues"): the queue receives the JSON envelope
  (``Type``, ``MessageId``, ``TopicArn``, ``Subject``, ``Message``, ``Timestamp``,
  ``SignatureVersion``, ``Signature``, ``SigningCertURL``, ``UnsubscribeURL``,
  ``MessageAttributes``) as its body; with ``RawMessageDelivery: true`` ("Amazon SNS raw message
  delivery") the message itself, its attributes as SQS message attributes (a message with more
  than 10 attributes is discarded, as SNS does). From a FIFO topic the message group and
  deduplication id go with it; a duplicate within the deduplication interval is not delivered
  (``fifo.py``).

A message the policy filters out is dropped, as SNS drops it. A delivery that fails is the
subscription's ``RedrivePolicy``'s (``redrive.py``, "Amazon SNS dead-letter queues (DLQs)"): a
client-side error (the queue deleted) sends the message to the dead-letter queue at once, or
discards it with one log line; a server-side error leaves it in the tap, to be received and
delivered again. Not emulated: SNS's delivery retry policies' phases and limits (a server-side
error is retried after the tap's visibility timeout until the stack stops; Lambda's own
asynchronous retries are the runtime's), a ``MessageStructure: json`` publish (each subscription
gets the ``sqs`` or ``default`` text, the tap's), delivery status logging.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from eventflow_local.eventsources.polling import PollLoop
from eventflow_local.eventsources.sns.fifo import FifoDeduplicator
from eventflow_local.eventsources.sns.redrive import delivery_failure
from eventflow_local.eventsources.sns.subscriptions import SubscriptionSpec
from eventflow_local.runtime.async_queue import invoke_async
from eventflow_local.runtime.invocation import Invoker
from eventflow_local.template.specs import EventSpec

#: SQS's limit on message attributes, which raw delivery maps SNS's to
MAX_RAW_ATTRIBUTES = 10


class SnsDeliveryError(ValueError):
    """The subscription's endpoint (a queue) is not in the emulator."""


def tap_queue_name(spec: SubscriptionSpec) -> str:
    digest = hashlib.sha1(f"{spec.topic_arn}|{spec.logical_id}".encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in spec.logical_id)[:50]
    return f"eventflow-sns-{stem}-{digest}" + (".fifo" if spec.fifo_topic else "")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def unsubscribe_url(spec: SubscriptionSpec, region: str) -> str:
    return f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={spec.arn}"


def lambda_event(
    envelope: Mapping[str, Any], spec: SubscriptionSpec, region: str
) -> dict[str, Any]:
    """The event Lambda receives for one SNS message ("Invoking Lambda functions with Amazon SNS
    notifications")."""
    attributes = {
        name: {"Type": str(attr.get("Type")), "Value": _text(attr.get("Value"))}
        for name, attr in (envelope.get("MessageAttributes") or {}).items()
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": spec.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": envelope["MessageId"],
                    "TopicArn": envelope.get("TopicArn", spec.topic_arn),
                    "Subject": envelope.get("Subject"),
                    "Message": envelope.get("Message", ""),
                    "Timestamp": envelope.get("Timestamp"),
                    "SignatureVersion": str(envelope.get("SignatureVersion", "1")),
                    "Signature": envelope.get("Signature", ""),
                    "SigningCertUrl": envelope.get("SigningCertURL", ""),
                    "UnsubscribeUrl": unsubscribe_url(spec, region),
                    "MessageAttributes": attributes,
                },
            }
        ]
    }


def sqs_envelope(envelope: Mapping[str, Any], spec: SubscriptionSpec, region: str) -> str:
    """The body an SQS subscription without raw delivery receives ("Fanout to Amazon SQS
    queues")."""
    body = {
        key: envelope[key]
        for key in ("Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp")
        if envelope.get(key) is not None
    }
    body.update(
        SignatureVersion=str(envelope.get("SignatureVersion", "1")),
        Signature=envelope.get("Signature", ""),
        SigningCertURL=envelope.get("SigningCertURL", ""),
        UnsubscribeURL=unsubscribe_url(spec, region),
    )
    if envelope.get("MessageAttributes"):
        body["MessageAttributes"] = {
            name: {"Type": str(attr.get("Type")), "Value": _text(attr.get("Value"))}
            for name, attr in envelope["MessageAttributes"].items()
        }
    return json.dumps(body)


def raw_attributes(envelope: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """SNS message attributes as the SQS message attributes of a raw delivery."""
    out: dict[str, dict[str, Any]] = {}
    for name, attr in (envelope.get("MessageAttributes") or {}).items():
        kind = str(attr.get("Type") or "String")
        if kind.startswith("Binary"):
            import base64

            out[name] = {"DataType": kind, "BinaryValue": base64.b64decode(attr.get("Value", ""))}
        else:
            out[name] = {"DataType": kind, "StringValue": _text(attr.get("Value"))}
    return out


class SnsSubscriptionSource(PollLoop):
    """``start()`` polls the subscription's tap on a thread of its own until ``stop()``; a
    ``lambda`` subscription's function (``invoker``) is invoked asynchronously, as SNS invokes
    it (``runtime.async_queue.invoke_async``)."""

    loop_kind = "sns"

    def __init__(
        self,
        spec: SubscriptionSpec,
        sns: Any,
        sqs: Any,
        *,
        region: str,
        invoker: Invoker | None = None,
        log: Callable[[str], None] = print,
        poll_interval: float = 0.2,
    ) -> None:
        self.spec = spec
        self.region = region
        self.log = log
        self.poll_interval = poll_interval
        self._invoker = invoker
        self._sqs = sqs
        if spec.protocol == "lambda":
            assert spec.function is not None and invoker is not None
            #: the console's row and the trigger line
            self.function_name = spec.function
            self.event = EventSpec(
                spec.logical_id, "SNS", {"Topic": spec.topic_arn, **spec.properties}
            )
        self.target_url: str | None = None
        if spec.protocol == "sqs":
            name = spec.endpoint.rsplit(":", 1)[-1]
            try:
                self.target_url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
            except Exception as exc:
                raise SnsDeliveryError(
                    f"{spec.logical_id}: no queue {name!r} in the embedded emulator "
                    f"({type(exc).__name__}); declare it in the template as an AWS::SQS::Queue"
                ) from None
        attrs = (
            {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if spec.fifo_topic else {}
        )
        self.tap_url = str(
            sqs.create_queue(QueueName=tap_queue_name(spec), Attributes=attrs)["QueueUrl"]
        )
        tap_arn = sqs.get_queue_attributes(QueueUrl=self.tap_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=spec.topic_arn, Protocol="sqs", Endpoint=tap_arn)
        PollLoop.__init__(self)
        self.stats = {
            "delivered": 0,
            "filtered": 0,
            "discarded": 0,
            "dead_lettered": 0,
            "retried": 0,
            "duplicates": 0,
        }
        #: a FIFO topic's deduplication (``fifo.py``)
        self._fifo = FifoDeduplicator() if spec.fifo_topic else None

    @property
    def loop_subject(self) -> str:
        return self.spec.logical_id

    def poll_once(self) -> int:
        """Deliver what the tap holds; the number of messages taken (0: none)."""
        answer = self._sqs.receive_message(
            QueueUrl=self.tap_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = answer.get("Messages", [])
        for message in messages:
            try:
                self._handle(message)
            except Exception as exc:
                if not self._failed(message, exc):
                    continue  # a server-side error: received again after the visibility timeout
            self._sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _failed(self, message: Mapping[str, Any], exc: Exception) -> bool:
        """A failed delivery: True when it is done with (dead-lettered or discarded), False
        when SNS would retry it."""
        failure, client_side = delivery_failure(exc)
        envelope = json.loads(message["Body"])
        where = f"[sns] {self.spec.logical_id}: message {envelope.get('MessageId')}"
        if not client_side:
            self.stats["retried"] += 1
            self.log(f"{where} not delivered ({failure.code}, {failure.message}): retried")
            return False
        self._dead_letter(envelope, message.get("Attributes") or {}, failure.message)
        return True

    def _dead_letter(
        self, envelope: Mapping[str, Any], tap_attrs: Mapping[str, Any], why: str
    ) -> None:
        """A client-side error's message to the subscription's dead-letter queue, or discarded."""
        where = f"[sns] {self.spec.logical_id}: message {envelope.get('MessageId')}"
        dead = self.spec.dead_letter
        if dead is None:
            self.stats["discarded"] += 1
            self.log(f"{where} not delivered ({why}): discarded (no RedrivePolicy)")
            return
        name = dead.rsplit(":", 1)[-1]
        try:
            url = str(self._sqs.get_queue_url(QueueName=name)["QueueUrl"])
            kwargs = self._sqs_message(envelope, tap_attrs, url) or self._sqs_message(
                envelope, tap_attrs, url, raw=False
            )
            assert kwargs is not None
            self._sqs.send_message(**kwargs)
        except Exception as exc:
            self.stats["discarded"] += 1
            self.log(
                f"{where} not delivered ({why}) nor moved to its dead-letter queue {name} "
                f"({type(exc).__name__}: {exc}): discarded"
            )
            return
        self.stats["dead_lettered"] += 1
        self.log(f"{where} not delivered ({why}): moved to its dead-letter queue {name}")

    def _handle(self, message: Mapping[str, Any]) -> None:
        envelope = json.loads(message["Body"])
        tap_attrs = message.get("Attributes") or {}
        if self._fifo is not None:
            dedup = self._fifo.admit(message, envelope)
            if dedup is None:
                self.stats["duplicates"] += 1
                return
            tap_attrs = {**tap_attrs, "MessageDeduplicationId": dedup}
        attributes = envelope.get("MessageAttributes") or {}
        policy = self.spec.policy
        if policy is not None and not policy(str(envelope.get("Message", "")), attributes):
            self.stats["filtered"] += 1
            return
        if self.spec.protocol == "lambda":
            self._deliver_lambda(envelope)
        else:
            self._deliver_sqs(envelope, tap_attrs)

    def _deliver_lambda(self, envelope: Mapping[str, Any]) -> None:
        assert self._invoker is not None
        event = lambda_event(envelope, self.spec, self.region)
        name = f"sns-invoke-{self.spec.logical_id}"
        self._keep(invoke_async(self._invoker, event, "sns", name=name))
        self.stats["delivered"] += 1

    def _deliver_sqs(self, envelope: Mapping[str, Any], tap_attrs: Mapping[str, Any]) -> None:
        assert self.target_url is not None
        kwargs = self._sqs_message(envelope, tap_attrs, self.target_url)
        if kwargs is None:
            count = len(raw_attributes(envelope))
            self._dead_letter(
                envelope,
                tap_attrs,
                f"{count} message attributes, over the {MAX_RAW_ATTRIBUTES} of a raw delivery "
                "to SQS: a client-side error",
            )
            return
        self._sqs.send_message(**kwargs)
        self.stats["delivered"] += 1

    def _sqs_message(
        self,
        envelope: Mapping[str, Any],
        tap_attrs: Mapping[str, Any],
        url: str,
        *,
        raw: bool | None = None,
    ) -> dict[str, Any] | None:
        """The ``SendMessage`` of the message to the queue at ``url``, as the subscription
        delivers it (``raw``: its RawMessageDelivery); None: a raw message SQS cannot carry."""
        kwargs: dict[str, Any] = {"QueueUrl": url}
        if self.spec.raw if raw is None else raw:
            attributes = raw_attributes(envelope)
            if len(attributes) > MAX_RAW_ATTRIBUTES:
                return None
            kwargs["MessageBody"] = str(envelope.get("Message", ""))
            if attributes:
                kwargs["MessageAttributes"] = attributes
        else:
            kwargs["MessageBody"] = sqs_envelope(envelope, self.spec, self.region)
        if url.endswith(".fifo"):
            kwargs["MessageGroupId"] = tap_attrs.get("MessageGroupId") or "default"
            kwargs["MessageDeduplicationId"] = tap_attrs.get("MessageDeduplicationId") or str(
                envelope.get("MessageId")
            )
        return kwargs
