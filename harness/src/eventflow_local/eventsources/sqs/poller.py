"""One SQS event source mapping: the queue polled, batches delivered to the function, messages
deleted or left to come back, as Lambda does.

AWS pages (Lambda developer guide): "Using Lambda with Amazon SQS", "Lambda parameters for Amazon
SQS event source mappings", "Handling errors for an SQS event source" and "Lambda event
filtering" (Filtering events from an Amazon SQS event source).

- Lambda polls with ``ReceiveMessage``; each message received is in flight for the queue's
  visibility timeout. A batch is invoked once it holds ``BatchSize`` messages, once the batching
  window (``MaximumBatchingWindowInSeconds``, counted from the first message) ends, or once one
  more message would take the invocation payload over 6 MB (that message waits for the next
  batch). Without a window, each poll's messages are one batch.
- A batch the function handles is deleted. When the function fails (error, timeout), nothing is
  deleted: the messages come back after the visibility timeout, and the queue's
  ``RedrivePolicy.maxReceiveCount`` moves a message received that many times to the
  dead-letter queue (the emulator does this on ``ReceiveMessage``, as SQS does).
- With ``FunctionResponseTypes: [ReportBatchItemFailures]`` the function returns
  ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``: only those come back, the rest are
  deleted. An empty or null response, or an empty list, is a full success; a response that is
  not an object, or an item whose identifier is empty, missing or not a message of the batch,
  fails the whole batch.
- FIFO queues: the emulator gives no message of a group while another of that group is in
  flight, and this mapping runs one batch at a time, so a group's messages are handled in order,
  one batch per group in flight. moto keeps a returned message "in flight" for its group until
  that message itself is received again, so when a failed batch held several messages of a group
  it would hand out a later one first; the poller therefore makes the returned messages visible
  (``ChangeMessageVisibility`` 0) once their visibility timeout has passed, which is when SQS
  returns them, and the group's first message comes first.
- ``FilterCriteria``: a message no pattern matches is deleted without invoking the function.

Not emulated: Lambda scales SQS pollers and concurrent batches up (to ``MaximumConcurrency``);
here one batch of a mapping runs at a time (named at start-up when ``ScalingConfig`` is set).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from eventflow_local.eventsources.polling import PollLoop
from eventflow_local.eventsources.sqs.config import SqsConfig, parse_sqs_config
from eventflow_local.eventsources.sqs.records import event_size, filter_document, sqs_record
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.specs import EventSpec

#: Lambda's invocation payload limit for synchronous invocations (event source mappings)
MAX_PAYLOAD = 6 * 1024 * 1024
#: ReceiveMessage returns at most this many messages per call
RECEIVE_MAX = 10


class SqsSourceError(ValueError):
    """The mapping's queue is not in the emulator."""


def failed_ids(payload: Any, batch: list[dict[str, Any]]) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response returns to the queue (None: the whole
    batch), as "Handling errors for an SQS event source" reads the response."""
    if payload is None or payload == {} or payload == "":
        return set()
    if not isinstance(payload, dict):
        return None
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return set()
    if not isinstance(failures, list):
        return None
    ids = {r["messageId"] for r in batch}
    out: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return None
        out.add(identifier)
    return out


class SqsEventSource(PollLoop):
    """``start()`` polls the queue on a thread of its own until ``stop()``."""

    loop_kind = "sqs"

    def __init__(
        self,
        logical_id: str,
        event: EventSpec,
        runtime: FunctionRuntime,
        client: Any,
        *,
        region: str,
        log: Callable[[str], None] = print,
        poll_interval: float = 0.2,
    ) -> None:
        self.config: SqsConfig = parse_sqs_config(logical_id, event.name, event.properties)
        self.function_name = logical_id
        self.event = event
        self.runtime = runtime
        self.region = region
        self.log = log
        self.poll_interval = poll_interval
        self._client = client
        name = self.config.queue_arn.rsplit(":", 1)[-1]
        try:
            self.queue_url = str(client.get_queue_url(QueueName=name)["QueueUrl"])
        except Exception as exc:  # QueueDoesNotExist, or an endpoint without SQS
            raise SqsSourceError(
                f"{self.config.where}: no queue {name!r} in the embedded emulator "
                f"({type(exc).__name__}); declare it in the template as an AWS::SQS::Queue"
            ) from None
        self._carry: list[dict[str, Any]] = []
        #: FIFO: (when the visibility timeout ends, receipt handle) of the messages returned
        self._returning: list[tuple[float, str]] = []
        self._visibility = 30.0
        if self.config.fifo:
            attrs = client.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]
            self._visibility = float(attrs.get("VisibilityTimeout", 30))
        PollLoop.__init__(self)
        #: batches invoked, messages deleted after success, filtered out, returned to the queue
        self.stats = {"batches": 0, "deleted": 0, "filtered": 0, "returned": 0}

    # ------------------------------------------------------------------ lifecycle
    @property
    def loop_subject(self) -> str:
        return self.config.where

    # ------------------------------------------------------------------ one batch
    def poll_once(self) -> int:
        """Collect one batch and deliver it; the number of messages invoked (0: none)."""
        batch = self._collect()
        if batch:
            self._deliver(batch)
        return len(batch)

    def _release_returned(self) -> None:
        """FIFO: the returned messages whose visibility timeout has passed made visible."""
        now = time.monotonic()
        due = [handle for at, handle in self._returning if at <= now]
        self._returning = [(at, handle) for at, handle in self._returning if at > now]
        for handle in due:
            with contextlib.suppress(Exception):  # received again or deleted meanwhile
                self._client.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )

    def _return(self, records: list[dict[str, Any]]) -> None:
        self.stats["returned"] += len(records)
        if self.config.fifo:
            at = time.monotonic() + self._visibility
            self._returning.extend((at, r["receiptHandle"]) for r in records)

    def _receive(self, want: int) -> list[dict[str, Any]]:
        if self._returning:
            self._release_returned()
        answer = self._client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(RECEIVE_MAX, want)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,  # the emulator serves one request at a time: no long poll
        )
        records = []
        for message in answer.get("Messages", []):
            record = sqs_record(message, self.config.queue_arn, self.region)
            if self.config.filter is not None and not self.config.filter(filter_document(record)):
                self._delete([record])  # filtered out: deleted, as Lambda does
                self.stats["filtered"] += 1
                continue
            records.append(record)
        return records

    def _collect(self) -> list[dict[str, Any]]:
        cfg = self.config
        records, self._carry = self._carry, []
        if not records:
            records = self._receive(cfg.batch_size)
            if not records:
                return []
        deadline = time.monotonic() + cfg.batching_window
        while (
            cfg.batching_window
            and len(records) < cfg.batch_size
            and time.monotonic() < deadline
            and not self._stopped.is_set()
        ):
            more = self._receive(cfg.batch_size - len(records))
            records.extend(more)
            if not more:
                self._stopped.wait(min(self.poll_interval, max(0.0, deadline - time.monotonic())))
        batch: list[dict[str, Any]] = []
        for n, record in enumerate(records):
            if batch and event_size([*batch, record]) > MAX_PAYLOAD:
                self._carry = records[n:]  # still in flight: the next batch takes them
                break
            batch.append(record)
        return batch

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        result: InvocationResult = self.runtime.invoke(
            {"Records": batch}, trigger="sqs", batch_size=len(batch)
        )
        self.stats["batches"] += 1
        if not result.ok:
            returned: set[str] | None = None
        elif self.config.report_batch_item_failures:
            returned = failed_ids(result.payload, batch)
        else:
            returned = set()
        if returned is None:  # the whole batch comes back after the visibility timeout
            self._return(batch)
            why = result.outcome if not result.ok else "invalid batchItemFailures response"
            self.log(
                f"[sqs] {self.config.where} batch={len(batch)} {why}: the batch returns to the "
                "queue after its visibility timeout"
            )
            return
        self._return([r for r in batch if r["messageId"] in returned])
        self._delete([r for r in batch if r["messageId"] not in returned])

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), RECEIVE_MAX):
            chunk = records[start : start + RECEIVE_MAX]
            self._client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(chunk)
                ],
            )
            self.stats["deleted"] += len(chunk)
