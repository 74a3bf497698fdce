"""Where an asynchronous invocation's outcome goes: destinations and the dead-letter queue.

"Capturing records of Lambda asynchronous invocations" (Lambda developer guide,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html):

- **Destinations** (``EventInvokeConfig.DestinationConfig``): a successful event's invocation
  record goes to ``OnSuccess``, a discarded one's (``RetriesExhausted``, ``EventAgeExceeded``) to
  ``OnFailure``. The record is ``async_queue.invocation_record``. Emulated: an SQS queue (the queue
  of that name in the embedded emulator, one ``SendMessage`` with the record as its JSON body, read
  back with boto3 ``receive_message`` as on AWS), a Lambda function (the record invoked
  asynchronously, through that function's own queue), an SNS topic that exists in the emulator
  (one ``Publish`` of the record). A FIFO queue or topic is not a destination Lambda supports:
  nothing is delivered (named at start-up). EventBridge buses and S3 buckets (OnFailure only on AWS) are
  named "not emulated yet" at start-up and when an event would go there.
- **Dead-letter queue** (the function's ``DeadLetterConfig.TargetArn``, SAM's
  ``DeadLetterQueue``): a discarded event is sent "as-is", the original payload as the message
  body, with the message attributes ``RequestID`` (String), ``ErrorCode`` (Number, the invoke's
  HTTP status: 200 for a function error) and ``ErrorMessage`` (String, the first 1 KB of the
  error message) ("Dead-letter queues", same page). An SQS queue or an SNS topic of the emulator.
  The guide offers the DLQ as the alternative to an on-failure destination; it does not make one
  exclude the other, so with both set a discarded event goes to both (the destination first).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.runtime.async_queue import (
    SUCCESS,
    AsyncConfig,
    EventQueue,
    Outcome,
    invocation_record,
)

Log = Callable[[str], None]
#: the DLQ's ErrorMessage attribute holds the first 1 KB of the error message
ERROR_MESSAGE_MAX = 1024


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


class AsyncDeliveries:
    """Sends invocation records and dead letters. ``services`` is the stack's emulator endpoint
    (``DynamoEndpoint``: ``client(service)``, ``emulates_services``) or None; ``queue_for`` finds
    a function's event queue by name or ARN (the Lambda API's lookup)."""

    def __init__(
        self,
        services: Any | None,
        queue_for: Callable[[str], EventQueue | None],
        *,
        log: Log = print,
    ) -> None:
        self.services = services if services is not None and services.emulates_services else None
        self.queue_for = queue_for
        self.log = log
        self._clients: dict[str, Any] = {}
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ start-up
    def check(self, function: str, config: AsyncConfig) -> list[str]:
        """One line for each target of ``function`` that is not emulated (named at start-up)."""
        lines = []
        for what, arn in (
            ("EventInvokeConfig OnSuccess", config.on_success),
            ("EventInvokeConfig OnFailure", config.on_failure),
            ("DeadLetterConfig", config.dead_letter),
        ):
            problem = self.problem(arn) if arn else None
            if problem:
                lines.append(f"{function}: {what} {arn}: {problem}")
        return lines

    def problem(self, arn: str) -> str | None:
        """Why records sent to ``arn`` would go nowhere locally; None when they arrive."""
        service = _service(arn)
        if service == "lambda":
            return None if self.queue_for(arn) else "no such function runs here"
        if service not in ("sqs", "sns"):
            kind = {"events": "EventBridge", "s3": "S3"}.get(service, service or arn)
            return f"{kind} destinations are not emulated yet"
        if arn.endswith(".fifo"):
            # "an unsupported destination type, such as an Amazon SQS FIFO queue or an Amazon
            # SNS FIFO topic": Lambda counts a DestinationDeliveryFailures and sends nothing
            return "FIFO queues and topics are not supported by Lambda; nothing is delivered"
        if self.services is None:
            return f"{service.upper()} is emulated only on the embedded moto server or LocalStack"
        try:
            if service == "sqs":
                self._queue_url(arn)
            else:
                self._client("sns").get_topic_attributes(TopicArn=arn)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            return f"not in the embedded emulator ({code}); declare it in the template"
        return None

    # ------------------------------------------------------------------ an event done
    def done(self, function_arn: str, config: AsyncConfig, outcome: Outcome) -> None:
        if outcome.condition == SUCCESS:
            if config.on_success:
                self._record(config.on_success, invocation_record(outcome, function_arn))
            return
        if config.on_failure:
            self._record(config.on_failure, invocation_record(outcome, function_arn))
        if config.dead_letter:
            self._dead_letter(config.dead_letter, outcome)

    def _record(self, arn: str, record: dict[str, Any]) -> None:
        service = _service(arn)
        try:
            if service == "lambda":
                queue = self.queue_for(arn)
                if queue is None:
                    raise LookupError("no such function runs here")
                queue.submit(record, trigger=f"destination:{record['requestContext']['condition']}")
            elif self._reachable(arn):
                self._send(arn, json.dumps(record, default=str), {})
            else:
                raise LookupError(self.problem(arn) or "not emulated")
        except (ClientError, LookupError) as exc:
            self.log(
                f"destination {arn}: record of {record['requestContext']['requestId']} "
                f"not delivered: {exc}"
            )

    def _dead_letter(self, arn: str, outcome: Outcome) -> None:
        attributes = {"RequestID": {"DataType": "String", "StringValue": outcome.event.request_id}}
        result = outcome.result
        if result is not None and result.error is not None:
            message = str(result.error.get("errorMessage") or result.error.get("errorType") or "")
            attributes["ErrorCode"] = {"DataType": "Number", "StringValue": "200"}
            attributes["ErrorMessage"] = {
                "DataType": "String",
                "StringValue": message.encode()[:ERROR_MESSAGE_MAX].decode(errors="ignore") or "-",
            }
        try:
            if not self._reachable(arn):
                raise LookupError(self.problem(arn) or "not emulated")
            self._send(arn, json.dumps(outcome.event.payload, default=str), attributes)
        except (ClientError, LookupError) as exc:
            self.log(
                f"dead-letter queue {arn}: event {outcome.event.request_id} not delivered: {exc}"
            )

    # ------------------------------------------------------------------ the emulator
    def _reachable(self, arn: str) -> bool:
        """A standard queue or topic, on an emulator."""
        return (
            _service(arn) in ("sqs", "sns")
            and self.services is not None
            and not arn.endswith(".fifo")
        )

    def _client(self, service: str) -> Any:
        assert self.services is not None
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.services.client(service)
            return self._clients[service]

    def _queue_url(self, arn: str) -> str:
        url = self._urls.get(arn)
        if url is None:
            url = self._client("sqs").get_queue_url(QueueName=arn.split(":")[5])["QueueUrl"]
            self._urls[arn] = url
        return url

    def _send(self, arn: str, body: str, attributes: dict[str, Any]) -> None:
        if _service(arn) == "sqs":
            url = self._queue_url(arn)
            client = self._client("sqs")
            with self._lock:
                client.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        else:
            client = self._client("sns")
            with self._lock:
                client.publish(TopicArn=arn, Message=body, MessageAttributes=attributes)
