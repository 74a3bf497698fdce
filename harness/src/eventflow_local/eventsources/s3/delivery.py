"""S3 notifications of one bucket, delivered by the harness with S3's event shape.

Design: moto's S3 sends notifications to SQS and SNS itself but would invoke a Lambda
configuration through its own Lambda backend, never the harness's workers, and its events lack
fields AWS sends. So the template's configurations are not set in moto; instead each bucket
gets a *tap*: an internal queue of the emulator (``eventflow-s3-<bucket>-<hash>``) set as the
bucket's only notification in moto, for every object event type, without a key filter. Every
object change (a function's ``put_object`` through ``AWS_ENDPOINT_URL``, a user's boto3 or CLI
call, a ``delete_objects``) lands in the tap. One thread per bucket polls it with short polls
(the moto server serves one request at a time), matches each event against the template's
configurations (``plan.py``: event type and ``prefix``/``suffix`` on the key name) and sends
each configuration that matches the S3 event ("Event message structure"): ``{"Records":
[{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion", "eventTime", "eventName",
"userIdentity", "requestParameters", "responseElements", "s3": {"s3SchemaVersion": "1.0",
"configurationId", "bucket": {"name", "ownerIdentity", "arn"}, "object": {"key" (URL-encoded,
spaces as ``+``), "size", "eTag", "sequencer"}}}]}``:

- to a function ("Using Lambda with Amazon S3"): invoked asynchronously, through its event
  queue (``runtime/async_queue.py``: Lambda's retries, event age, destinations), one record per
  invocation;
- to a queue ("Amazon S3 Event Notifications"): ``SendMessage`` with the event as its body;
- to a topic: ``Publish`` with the event as its message, subject "Amazon S3 Notification".

When the configuration is set (at start-up), S3 sends ``s3:TestEvent`` to each queue and topic
destination (not to functions), as AWS does. Not emulated: the identities are local
placeholders; ``versionId`` of versioned buckets, the Glacier and replication fields; event
types moto does not raise (lifecycle, replication, intelligent tiering).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from eventflow_local.eventsources.polling import PollLoop
from eventflow_local.eventsources.s3.plan import BucketNotifications, NotificationSpec
from eventflow_local.template.specs import EventSpec

#: the event types the tap asks moto for
TAP_EVENTS = [
    "s3:ObjectCreated:*",
    "s3:ObjectRemoved:*",
    "s3:ObjectRestore:*",
    "s3:ObjectTagging:*",
    "s3:ObjectAcl:Put",
]
#: the principal of the local account (no IAM here)
LOCAL_PRINCIPAL = "AWS:AIDAEVENTFLOWLOCAL"
SUBJECT = "Amazon S3 Notification"


def tap_queue_name(bucket: BucketNotifications) -> str:
    digest = hashlib.sha1(bucket.name.encode()).hexdigest()[:10]
    return f"eventflow-s3-{bucket.name[:50]}-{digest}"


def encode_key(key: str) -> str:
    """The object key as S3 writes it in an event: URL-encoded, a space as ``+``."""
    return quote_plus(key, safe="/")


def s3_event(
    record: Mapping[str, Any], spec: NotificationSpec, bucket: BucketNotifications, sequencer: str
) -> dict[str, Any]:
    """The event of ``spec`` for one record of the tap (moto's, completed as AWS sends it)."""
    obj = record["s3"]["object"]
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": record.get("awsRegion"),
                "eventTime": record.get("eventTime"),
                "eventName": record["eventName"],
                "userIdentity": {"principalId": LOCAL_PRINCIPAL},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": secrets.token_hex(8).upper(),
                    "x-amz-id-2": secrets.token_urlsafe(48),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": spec.configuration_id,
                    "bucket": {
                        "name": bucket.name,
                        "ownerIdentity": {"principalId": LOCAL_PRINCIPAL.split(":", 1)[1]},
                        "arn": bucket.arn,
                    },
                    "object": {
                        "key": encode_key(unquote_plus(obj["key"])),
                        "size": obj.get("size", 0),
                        "eTag": obj.get("eTag", ""),
                        "sequencer": sequencer,
                    },
                },
            }
        ]
    }


def test_event(bucket: BucketNotifications, when: str) -> dict[str, Any]:
    """The ``s3:TestEvent`` S3 sends to a queue or topic when the configuration is set."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": when,
        "Bucket": bucket.name,
        "RequestId": secrets.token_hex(8).upper(),
        "HostId": secrets.token_urlsafe(48),
    }


class S3Trigger:
    """A function notified by a bucket: its line among the function's triggers (the bucket's
    ``S3BucketSource`` delivers)."""

    def __init__(self, spec: NotificationSpec, bucket: BucketNotifications) -> None:
        assert spec.function is not None
        self.function_name = spec.function
        self.event = EventSpec(
            spec.configuration_id,
            "S3",
            {
                "Bucket": bucket.name,
                "Events": spec.event,
                "Prefix": spec.prefix,
                "Suffix": spec.suffix,
            },
        )

    def start(self) -> None:
        """Nothing of its own to start: the bucket's source delivers."""

    def stop(self) -> None:
        """Nothing of its own to stop."""


class S3BucketSource(PollLoop):
    """``start()`` polls the bucket's tap on a thread of its own until ``stop()``."""

    loop_kind = "s3"

    def __init__(
        self,
        bucket: BucketNotifications,
        s3: Any,
        sqs: Any,
        sns: Any,
        *,
        submit: Mapping[str, Callable[[dict[str, Any]], Any]],
        log: Callable[[str], None] = print,
        poll_interval: float = 0.2,
    ) -> None:
        """``submit``: function logical id -> what invokes it asynchronously."""
        self.bucket = bucket
        self.log = log
        self.poll_interval = poll_interval
        self._sqs, self._sns, self._submit = sqs, sns, dict(submit)
        self.specs = [s for s in bucket.specs if s.kind != "lambda" or s.function in self._submit]
        self._queue_urls: dict[str, str] = {}
        for spec in self.specs:
            if spec.kind == "sqs":
                self._queue_urls[spec.target] = str(
                    sqs.get_queue_url(QueueName=spec.target.rsplit(":", 1)[-1])["QueueUrl"]
                )
        self.tap_url = str(sqs.create_queue(QueueName=tap_queue_name(bucket))["QueueUrl"])
        tap_arn = sqs.get_queue_attributes(QueueUrl=self.tap_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=bucket.name,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"Id": "eventflow-tap", "QueueArn": tap_arn, "Events": TAP_EVENTS}
                ]
            },
        )
        self._sequence = time.time_ns()
        PollLoop.__init__(self)
        self.stats = {"delivered": 0, "unmatched": 0}

    @property
    def loop_subject(self) -> str:
        return self.bucket.name

    def start(self) -> None:
        self._send_test_events()
        super().start()

    def _send_test_events(self) -> None:
        when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        body = json.dumps(test_event(self.bucket, when))
        for target in dict.fromkeys(s.target for s in self.specs if s.kind != "lambda"):
            if target in self._queue_urls:
                self._sqs.send_message(QueueUrl=self._queue_urls[target], MessageBody=body)
            else:
                self._sns.publish(TopicArn=target, Message=body, Subject=SUBJECT)

    def poll_once(self) -> int:
        """Deliver what the tap holds; the number of messages taken (0: none)."""
        answer = self._sqs.receive_message(
            QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages = answer.get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            for record in body.get("Records", []):  # moto's own TestEvent has none
                self._handle(record)
            self._sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _handle(self, record: Mapping[str, Any]) -> None:
        key = unquote_plus(str(record["s3"]["object"]["key"]))
        self._sequence += 1
        sequencer = f"{self._sequence:X}"
        matched = [s for s in self.specs if s.matches(str(record["eventName"]), key)]
        if not matched:
            self.stats["unmatched"] += 1
        for spec in matched:
            event = s3_event(record, spec, self.bucket, sequencer)
            if spec.kind == "lambda":
                assert spec.function is not None
                self._submit[spec.function](event)
            elif spec.kind == "sqs":
                self._sqs.send_message(
                    QueueUrl=self._queue_urls[spec.target], MessageBody=json.dumps(event)
                )
            else:
                self._sns.publish(TopicArn=spec.target, Message=json.dumps(event), Subject=SUBJECT)
            self.stats["delivered"] += 1
