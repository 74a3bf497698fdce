"""An SNS topic as the OnFailure destination of an event source mapping.

"Capturing discarded batches for an SQS, Kinesis or DynamoDB event source" (Lambda developer
guide): an SNS destination receives the failure record (metadata only) as the message of a
``Publish`` to the topic, which the topic's subscriptions then receive as from any publisher
(``eventsources/sns/delivery.py``). The topic is the template's, created in the embedded emulator
(``services/sns.py``).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any


class SnsTopicDestination:
    """A topic of the embedded emulator: each failure record is one ``Publish``."""

    KEEP = 100

    def __init__(self, arn: str, client: Any) -> None:
        self.arn = arn
        self.topic_name = arn.rsplit(":", 1)[-1]
        self._client = client
        self._lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []

    def send(self, record: Mapping[str, Any], *, key: bytes | None = None) -> None:
        metadata = {k: v for k, v in record.items() if k != "payload"}
        message = json.dumps(metadata, separators=(",", ":"), default=str)
        with self._lock:
            publish: dict[str, Any] = {"TopicArn": self.arn, "Message": message}
            if self.arn.endswith(".fifo"):  # a FIFO topic needs a group (and a deduplication id)
                publish["MessageGroupId"] = "failures"
                publish["MessageDeduplicationId"] = uuid.uuid4().hex
            self._client.publish(**publish)
            self.sent = [*self.sent[-(self.KEEP - 1) :], json.loads(message)]

    def __repr__(self) -> str:
        return f"SnsTopicDestination({self.arn})"
