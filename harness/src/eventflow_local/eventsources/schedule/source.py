"""A schedule running: a rule's or a Scheduler schedule's functions invoked at each run, and now.

One ``ScheduleEventSource`` per ``ScheduleSpec`` (``plan.py``) whose target functions run. While
started and enabled, a background thread waits for the schedule's next run (``rate``: one period
after start-up, then every period; ``cron`` and ``at`` at their times, in their time zone) and
invokes each target with what AWS delivers to it. EventBridge and EventBridge Scheduler invoke a
function asynchronously ("Using Lambda with Amazon EventBridge Scheduler",
https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html), so a run does not
wait for the previous one to end: each target's event goes on the function's event queue
(``runtime/async_queue.py``: the function's ``EventInvokeConfig`` retries and destinations, its
dead-letter queue) when the Lambda API serves the function, else each run is its own thread.

``fire()`` runs the schedule once, now, enabled or not (``eventflow-local schedule fire``, the
console's Fire button): a ``rate(5 minutes)`` need not be waited for. The activity and the
invocation lines tell the two apart: ``schedule:<LogicalId>`` for a run on time,
``fired:<LogicalId>`` for one fired by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from eventflow_local.eventsources.schedule.plan import ScheduleSpec
from eventflow_local.runtime.async_queue import queue_of
from eventflow_local.runtime.invocation import InvocationResult, Invoker
from eventflow_local.template.specs import EventSpec

Log = Callable[[str], None]


class ScheduleEventSource:
    """Invokes the target functions of one schedule at each of its runs, or when fired."""

    def __init__(
        self, spec: ScheduleSpec, invokers: Mapping[str, Invoker], *, log: Log = print
    ) -> None:
        self.spec = spec
        self.invokers = dict(invokers)
        self.log = log
        #: the first target's function (the console's row, the tests' handle)
        self.function_name = spec.targets[0].function
        self.event = EventSpec(
            spec.logical_id, spec.resource_type, {"ScheduleExpression": spec.expression}
        )
        self.rule_arn = spec.arn
        self.runs = 0
        self.next_run: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether the schedule fires on its own (enabled, with a run to come)."""
        return self._thread is not None and self._thread.is_alive()

    def fire(
        self, when: datetime | None = None, trigger: str | None = None
    ) -> list[InvocationResult]:
        """One run now (or for ``when``): every target invoked, in order; their results."""
        trigger = trigger or f"fired:{self.spec.logical_id}"
        with self._lock:
            self.runs += 1
        results = []
        for target in self.spec.targets:
            event = self.spec.event_for(target, when)
            results.append(self.invokers[target.function].invoke(event, trigger=trigger))
        return results

    def fire_async(self, when: datetime | None = None, trigger: str | None = None) -> None:
        """One run in the background, as AWS invokes: the caller does not wait for it."""
        queues = [queue_of(self.invokers[target.function]) for target in self.spec.targets]
        if all(queues):
            with self._lock:
                self.runs += 1
            for target, queue in zip(self.spec.targets, queues, strict=True):
                assert queue is not None
                event = self.spec.event_for(target, when)
                queue.submit(event, trigger or f"fired:{self.spec.logical_id}")
            return
        runner = threading.Thread(
            target=self._run_once,
            args=(when, trigger),
            name=f"run-{self.spec.logical_id}",
            daemon=True,
        )
        with self._lock:
            self._inflight = [t for t in self._inflight if t.is_alive()] + [runner]
        runner.start()

    def _run_once(self, when: datetime | None, trigger: str | None) -> None:
        try:
            self.fire(when, trigger)
        except Exception as exc:  # one failed run must not end the schedule
            self.log(f"{self.spec.logical_id}: scheduled run failed: {exc!r}")

    def start(self) -> None:
        if not self.spec.enabled:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"schedule-{self.spec.logical_id}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        last = datetime.now(UTC)
        while True:
            self.next_run = when = self.spec.next_after(last)
            if when is None:
                return
            delay = (when - datetime.now(UTC)).total_seconds()
            if self._stop.wait(max(0.0, delay)):
                return
            self.fire_async(when, f"schedule:{self.spec.logical_id}")
            last = when

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for runner in list(self._inflight):
            runner.join(timeout / 5)
