"""A function's event queue: what Lambda does with an ``InvocationType=Event`` invocation.

Lambda answers an asynchronous invocation with 202 at once and puts the event on the function's
own queue ("Invoking a Lambda function asynchronously", Lambda developer guide,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html). From that queue:

- a **function error** (the handler raised, timed out, its runtime died) is retried
  ``MaximumRetryAttempts`` times (0-2, default 2), "with a one-minute wait between the first two
  attempts, and two minutes between the second and third" ("How Lambda handles errors and retries
  with asynchronous invocation", invocation-async-error-handling.html). Locally those waits are
  ``AWS_RETRY_DELAYS_S`` times ``delay_scale`` (default 1/60: one and two seconds), so a failing
  event's fate is seen while the developer waits; ``delay_scale=1`` gives AWS's delays.
- an event older than ``MaximumEventAgeInSeconds`` (60-21600, default 21600, six hours) when its
  next attempt comes due is discarded with the condition ``EventAgeExceeded`` ("Configuring error
  handling settings for Lambda asynchronous invocations", invocation-async-configuring.html; the
  ranges are PutFunctionEventInvokeConfig's in the Lambda API reference).
- once an event is done, its **invocation record** goes to the ``EventInvokeConfig``
  ``DestinationConfig`` ``OnSuccess`` or ``OnFailure`` destination, and a discarded event's payload
  to the function's ``DeadLetterConfig`` target ("Capturing records of Lambda asynchronous
  invocations", invocation-async-retain-records.html): ``async_destinations.py``.

Not emulated, named here: throttling (a busy function's events wait for a worker instead of being
returned to the queue with 1 s..5 min backoff: the local pool grows up to the function's
concurrency), and the queue's occasional duplicate deliveries. Every attempt of one event is
a separate invocation line with its own request id; the 202's ``x-amzn-RequestId`` and the record's
``requestContext.requestId`` are the event's.

Events run in the harness's process: a stopped stack drops the events still queued, as a deleted
function's queue is dropped.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from eventflow_local.runtime.invocation import InvocationResult, Invoker

Log = Callable[[str], None]

#: AWS's waits before the second and the third attempt of a failed event (seconds)
AWS_RETRY_DELAYS_S = (60.0, 120.0)
#: local waits are AWS's times this: one and two seconds
DEFAULT_DELAY_SCALE = 1 / 60
DEFAULT_RETRIES = 2
RETRY_RANGE = (0, 2)
DEFAULT_MAX_AGE_S = 6 * 3600
MAX_AGE_RANGE = (60, 21600)

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"


class Clock(Protocol):
    """Time as the queue sees it (a fake one in the unit tests)."""

    def now(self) -> float:
        """Seconds, monotonic."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait ``seconds``; True when ``stop`` was set meanwhile."""
        ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(seconds)


@dataclass(frozen=True)
class AsyncConfig:
    """A function's asynchronous invocation settings (``EventInvokeConfig``, ``DeadLetterConfig``)."""

    max_retries: int = DEFAULT_RETRIES
    max_age_s: float = DEFAULT_MAX_AGE_S
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter: str | None = None

    @classmethod
    def of(cls, name: str, props: Mapping[str, Any]) -> tuple[AsyncConfig, list[str]]:
        """The settings of a function's (resolved) properties, and one line for each value
        Lambda would refuse (the nearest value in Lambda's range is used instead)."""
        lines: list[str] = []
        config = props.get("EventInvokeConfig") or {}
        retries = _bounded(
            name, "MaximumRetryAttempts", config, DEFAULT_RETRIES, RETRY_RANGE, lines
        )
        age = _bounded(
            name, "MaximumEventAgeInSeconds", config, DEFAULT_MAX_AGE_S, MAX_AGE_RANGE, lines
        )
        dest = config.get("DestinationConfig") or {}
        dead = props.get("DeadLetterConfig") or {}
        return (
            cls(
                max_retries=retries,
                max_age_s=float(age),
                on_success=_destination(dest.get("OnSuccess")),
                on_failure=_destination(dest.get("OnFailure")),
                dead_letter=str(dead["TargetArn"]) if dead.get("TargetArn") else None,
            ),
            lines,
        )


def _bounded(
    name: str,
    prop: str,
    config: Mapping[str, Any],
    default: int,
    bounds: tuple[int, int],
    lines: list[str],
) -> int:
    if config.get(prop) is None:
        return default
    try:
        value = int(config[prop])
    except (TypeError, ValueError):
        lines.append(
            f"{name}: EventInvokeConfig.{prop} {config[prop]!r} is not a number; {default} used"
        )
        return default
    low, high = bounds
    if low <= value <= high:
        return value
    kept = min(max(value, low), high)
    lines.append(
        f"{name}: EventInvokeConfig.{prop} {value} is outside Lambda's range {low}-{high} "
        f"(AWS refuses it at deploy); {kept} used"
    )
    return kept


def _destination(value: Any) -> str | None:
    if isinstance(value, Mapping) and value.get("Destination"):
        return str(value["Destination"])
    return None


@dataclass
class AsyncEvent:
    """One event on a function's queue."""

    payload: Any
    request_id: str
    queued_at: float
    trigger: str
    attempts: int = 0
    last: InvocationResult | None = None


@dataclass(frozen=True)
class Outcome:
    """How an event left the queue: its condition and the last attempt's result."""

    event: AsyncEvent
    condition: str
    result: InvocationResult | None = field(default=None)


def invocation_record(outcome: Outcome, function_arn: str) -> dict[str, Any]:
    """The record Lambda sends to a destination ("Capturing records of Lambda asynchronous
    invocations": ``version``, ``timestamp``, ``requestContext``, ``requestPayload``,
    ``responseContext``, ``responsePayload``). An event that never ran has no response."""
    event, result = outcome.event, outcome.result
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": outcome.condition,
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": event.payload,
    }
    if result is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not result.ok:
            context["functionError"] = "Unhandled"
        record["responseContext"] = context
        record["responsePayload"] = result.payload if result.ok else result.error
    return record


class EventQueue:
    """The event queue of one function: ``submit`` returns at once; each event is attempted,
    retried and finished (``on_done``) in the background."""

    def __init__(
        self,
        invoker: Invoker,
        config: AsyncConfig,
        on_done: Callable[[Outcome], None],
        *,
        clock: Clock | None = None,
        delay_scale: float = DEFAULT_DELAY_SCALE,
        log: Log = print,
    ) -> None:
        self.invoker = invoker
        self.config = config
        self.on_done = on_done
        self.clock: Clock = clock or RealClock()
        self.delay_scale = delay_scale
        self.log = log
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: set[threading.Thread] = set()
        #: how events left the queue, newest last (the console's and the tests' view)
        self.outcomes: list[Outcome] = []

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._running)

    def submit(self, payload: Any, trigger: str = "lambda:Invoke(Event)") -> str:
        """Queue ``payload``; its request id (the 202's ``x-amzn-RequestId``)."""
        event = AsyncEvent(payload, str(uuid.uuid4()), self.clock.now(), trigger)
        runner = threading.Thread(
            target=self._run, args=(event,), name=f"async-{self.invoker.function_name}", daemon=True
        )
        with self._lock:
            self._running.add(runner)
        runner.start()
        return event.request_id

    def _run(self, event: AsyncEvent) -> None:
        try:
            outcome = self.process(event)
            if outcome is not None:
                self.finish(outcome)
        except Exception as exc:  # one event must not end the queue
            self.log(f"{self.invoker.function_name}: async event {event.request_id}: {exc!r}")
        finally:
            with self._lock:
                self._running.discard(threading.current_thread())

    def process(self, event: AsyncEvent) -> Outcome | None:
        """Attempt ``event`` until it succeeds, runs out of retries or of age; None when the
        queue stopped meanwhile."""
        while True:
            if self._stop.is_set():
                return None
            if self.clock.now() - event.queued_at > self.config.max_age_s:
                return Outcome(event, EVENT_AGE_EXCEEDED, event.last)
            result = self.invoker.invoke(event.payload, trigger=event.trigger)
            event.attempts += 1
            event.last = result
            if result.ok:
                return Outcome(event, SUCCESS, result)
            if event.attempts > self.config.max_retries:
                return Outcome(event, RETRIES_EXHAUSTED, result)
            delay = AWS_RETRY_DELAYS_S[event.attempts - 1] * self.delay_scale
            if self.clock.wait(delay, self._stop):
                return None

    def finish(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes = [*self.outcomes[-99:], outcome]
        if outcome.condition != SUCCESS:
            event = outcome.event
            self.log(
                f"{self.invoker.function_name}: async event {event.request_id} discarded "
                f"({outcome.condition}, {event.attempts} attempt(s))"
            )
        self.on_done(outcome)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._lock:
            running = list(self._running)
        deadline = time.monotonic() + timeout
        for runner in running:
            runner.join(max(0.0, deadline - time.monotonic()))


# ------------------------------------------------------------------ which queue is whose
_QUEUES: weakref.WeakKeyDictionary[Any, EventQueue] = weakref.WeakKeyDictionary()


def attach(invoker: Invoker, queue: EventQueue) -> None:
    """Make ``queue`` the event queue of ``invoker`` (``queue_of``)."""
    _QUEUES[invoker] = queue


def queue_of(invoker: Invoker) -> EventQueue | None:
    """The event queue of ``invoker``, if the Lambda API serves it: how the harness's own
    asynchronous callers (schedules) invoke as EventBridge does, through the function's queue."""
    return _QUEUES.get(invoker)


def invoke_async(
    invoker: Invoker, event: Any, trigger: str, *, name: str = "invoke"
) -> threading.Thread | None:
    """Invoke ``invoker`` asynchronously, as AWS's services do (SNS, EventBridge, S3, schedules):
    through its event queue when the Lambda API serves one (Lambda's retries, event age and
    destinations), else on a thread of its own, returned so that a caller can wait for it."""
    queue = queue_of(invoker)
    if queue is not None:
        queue.submit(event, trigger)
        return None
    thread = threading.Thread(
        target=invoker.invoke, args=(event,), kwargs={"trigger": trigger}, name=name, daemon=True
    )
    thread.start()
    return thread
