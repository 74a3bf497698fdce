"""A rule target's retry policy and dead-letter queue, decided as EventBridge decides them.

"Event retry policy and using dead-letter queues" (EventBridge user guide,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html) and "Using dead-letter
queues to process undelivered events" (rule-dlq.html):

- An event that is not delivered to a target because of a *retriable* error is retried with
  "exponential back off and jitter", by default for 24 hours and up to 185 times; the target's
  ``RetryPolicy`` sets ``MaximumRetryAttempts`` (0-185) and ``MaximumEventAgeInSeconds``
  (60-86400), whichever runs out first ("RetryPolicy", EventBridge API reference; the
  ``RetryPolicy`` property of an ``AWS::Events::Rule`` Target). A value outside those ranges is
  refused, as ``PutTargets`` refuses it.
- Some errors are not retried: "for errors that result from missing permissions to a target, or
  a target resource that no longer exists" the event goes straight to the dead-letter queue.
  Here ``NO_RESOURCE`` (a queue or topic the emulator does not have), ``NO_PERMISSIONS`` and, the
  harness's reading of the same rule, a request the target refuses as invalid
  (``INVALID_PARAMETER``, ``INVALID_JSON``: a retry would send the same request) are not retried;
  everything else (throttling, a connection failure, a timeout, a server error, an unknown error)
  is.
- Once retries end, or at once for an error not retried, the event goes to the target's
  ``DeadLetterConfig.Arn``, a *standard* SQS queue ("EventBridge DLQs are standard Amazon SQS
  queues": a FIFO queue is refused), with the message attributes ``RULE_ARN``, ``TARGET_ARN``,
  ``ERROR_CODE`` (the page's codes: ``NO_RESOURCE``, ``THROTTLING``, ``CONNECTION_FAILURE`` ...),
  ``ERROR_MESSAGE``, ``EXHAUSTED_RETRY_CONDITION`` (``MaximumRetryAttempts`` or
  ``MaximumEventAgeInSeconds``; absent when the error was not retried) and ``RETRY_ATTEMPTS``.
  The message body is the event, as the rule matched it. Without a dead-letter queue the event is
  dropped.

Time: AWS does not publish its backoff's base and cap; the harness uses a one-second base doubled
per retry up to five minutes, with "full jitter" (a uniform draw below that bound: "Exponential
Backoff And Jitter", AWS Architecture Blog, the post the guide links). Locally every wait is that
times ``delay_scale`` (default 1/60, as ``runtime/async_queue.py`` scales Lambda's retry waits:
seconds instead of minutes), and the event's age is counted on the same scaled clock, so the
condition that ends the retries (attempts or age) is the one AWS would report;
``delay_scale=1`` gives AWS's times.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eventflow_local.runtime.async_queue import DEFAULT_DELAY_SCALE

__all__ = ["DEFAULT_DELAY_SCALE", "Failure", "TargetRetry", "Verdict"]

DEFAULT_RETRIES = 185
RETRY_RANGE = (0, 185)
DEFAULT_MAX_AGE_S = 86400
MAX_AGE_RANGE = (60, 86400)
#: the backoff's first bound and its cap, in AWS seconds (the harness's; AWS does not say)
BASE_DELAY_S = 1.0
MAX_DELAY_S = 300.0

RETRY_ATTEMPTS_EXHAUSTED = "MaximumRetryAttempts"
EVENT_AGE_EXHAUSTED = "MaximumEventAgeInSeconds"

NO_RESOURCE = "NO_RESOURCE"
NO_PERMISSIONS = "NO_PERMISSIONS"
INVALID_PARAMETER = "INVALID_PARAMETER"
INVALID_JSON = "INVALID_JSON"
THROTTLING = "THROTTLING"
CONNECTION_FAILURE = "CONNECTION_FAILURE"
TIMEOUT = "TIMEOUT"
INTERNAL_ERROR = "INTERNAL_ERROR"
SDK_CLIENT_ERROR = "SDK_CLIENT_ERROR"
UNKNOWN = "UNKNOWN"
NOT_RETRIED = frozenset({NO_RESOURCE, NO_PERMISSIONS, INVALID_PARAMETER, INVALID_JSON})

#: the AWS error codes of SQS, SNS and Lambda answers, as EventBridge's DLQ error codes
_CODES = {
    NO_RESOURCE: (
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFound",
        "NotFoundException",
        "ResourceNotFoundException",
    ),
    NO_PERMISSIONS: (
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "KMSAccessDeniedException",
    ),
    THROTTLING: (
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
    ),
    INVALID_PARAMETER: (
        "InvalidParameterValue",
        "InvalidParameter",
        "InvalidParameterException",
        "ValidationError",
        "MissingParameter",
        "InvalidMessageContents",
    ),
}
_CODE_OF = {aws: ours for ours, codes in _CODES.items() for aws in codes}


@dataclass(frozen=True)
class TargetRetry:
    """A target's ``RetryPolicy`` and ``DeadLetterConfig.Arn``."""

    max_retries: int = DEFAULT_RETRIES
    max_age_s: float = DEFAULT_MAX_AGE_S
    dead_letter: str | None = None

    @property
    def dead_letter_name(self) -> str | None:
        return self.dead_letter.rsplit(":", 1)[-1] if self.dead_letter else None


def read_retry(config: Mapping[str, Any], where: str) -> tuple[TargetRetry, str | None]:
    """The retry settings of a target's (resolved) properties, and the line that refuses the
    target when ``PutTargets`` would refuse them (None: accepted)."""
    policy = config.get("RetryPolicy") or {}
    if not isinstance(policy, Mapping):
        return TargetRetry(), f"{where}.RetryPolicy: must be an object"
    values: dict[str, int] = {}
    for prop, default, (low, high) in (
        ("MaximumRetryAttempts", DEFAULT_RETRIES, RETRY_RANGE),
        ("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_S, MAX_AGE_RANGE),
    ):
        raw = policy.get(prop)
        try:
            value = default if raw is None else int(raw)
        except (TypeError, ValueError):
            return TargetRetry(), f"{where}.RetryPolicy.{prop}: {raw!r} is not a number"
        if not low <= value <= high:
            return TargetRetry(), (
                f"{where}.RetryPolicy.{prop}: {value} is outside EventBridge's range {low}-{high}"
            )
        values[prop] = value
    dead = config.get("DeadLetterConfig") or {}
    arn = dead.get("Arn") if isinstance(dead, Mapping) else None
    if dead and not arn:
        return TargetRetry(), f"{where}.DeadLetterConfig.Arn: required (an SQS queue's ARN)"
    if arn is not None:
        arn = str(arn)
        if ":sqs:" not in arn:
            return TargetRetry(), f"{where}.DeadLetterConfig.Arn: {arn}: not an SQS queue"
        if arn.endswith(".fifo"):
            return TargetRetry(), (
                f"{where}.DeadLetterConfig.Arn: {arn}: EventBridge dead-letter queues are "
                "standard SQS queues, not FIFO ones"
            )
    return (
        TargetRetry(
            max_retries=values["MaximumRetryAttempts"],
            max_age_s=float(values["MaximumEventAgeInSeconds"]),
            dead_letter=arn,
        ),
        None,
    )


@dataclass(frozen=True)
class Failure:
    """Why a delivery failed, as the DLQ's ``ERROR_CODE`` and ``ERROR_MESSAGE`` say it."""

    code: str
    message: str

    @property
    def retried(self) -> bool:
        return self.code not in NOT_RETRIED


def classify(exc: BaseException) -> Failure:
    """The EventBridge error code of a failed delivery (a botocore error or any other)."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        aws_code = str(error.get("Code") or "")
        message = f"{aws_code}: {error.get('Message') or exc}"
        if aws_code in _CODE_OF:
            return Failure(_CODE_OF[aws_code], message)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return Failure(INTERNAL_ERROR if status >= 500 else SDK_CLIENT_ERROR, message)
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError | TimeoutError):
        return Failure(TIMEOUT, str(exc))
    if isinstance(exc, BotoConnectionError | ConnectionError):
        return Failure(CONNECTION_FAILURE, str(exc))
    return Failure(UNKNOWN, f"{type(exc).__name__}: {exc}")


def backoff(retry: int, rng: Callable[[], float] = random.random) -> float:
    """The wait before retry number ``retry`` (1 = the first), in AWS seconds: full jitter
    below ``BASE_DELAY_S * 2 ** (retry - 1)``, capped at ``MAX_DELAY_S``."""
    bound = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** min(retry - 1, 30))
    return rng() * bound


@dataclass(frozen=True)
class Verdict:
    """What happens to a failed delivery: retried after ``delay_s`` (AWS seconds), or sent to
    the dead-letter queue with ``exhausted`` (None: the error is not retried)."""

    retry: bool
    delay_s: float = 0.0
    exhausted: str | None = None


def decide(
    retry: TargetRetry, failure: Failure, retries: int, age_s: float, delay_s: float
) -> Verdict:
    """After a failed attempt: ``retries`` retries made so far, the event ``age_s`` old and
    ``delay_s`` to wait before the next one (all in AWS seconds)."""
    if not failure.retried:
        return Verdict(False)
    if retries >= retry.max_retries:
        return Verdict(False, exhausted=RETRY_ATTEMPTS_EXHAUSTED)
    if age_s + delay_s > retry.max_age_s:
        return Verdict(False, exhausted=EVENT_AGE_EXHAUSTED)
    return Verdict(True, delay_s)


def dead_letter_attributes(
    rule_arn: str, target_arn: str, failure: Failure, retries: int, exhausted: str | None
) -> dict[str, dict[str, str]]:
    """The SQS message attributes EventBridge puts on a dead letter ("Using dead-letter queues
    to process undelivered events")."""
    values = {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": failure.code,
        "ERROR_MESSAGE": failure.message[:1024] or failure.code,
    }
    if exhausted:
        values["EXHAUSTED_RETRY_CONDITION"] = exhausted
    values["RETRY_ATTEMPTS"] = str(retries)
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}
