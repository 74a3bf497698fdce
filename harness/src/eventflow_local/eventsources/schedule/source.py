"""Schedule event sources (``Type: Schedule`` / ``ScheduleV2``): EventBridge rules and schedules.

``rate(N minute|minutes|hour|hours|day|days)`` is emulated: the function is invoked with an
EventBridge "Scheduled Event" every period, the first one a period after start-up as on AWS.
``cron(...)`` and ``at(...)`` expressions are not emulated: the harness says so and skips them.
``Enabled: false`` (Schedule) and ``State: DISABLED`` (ScheduleV2) are respected; ``Input``
replaces the event, as on AWS.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT
from eventflow_local.events.schedule import schedule_event
from eventflow_local.runtime.invocation import Invoker
from eventflow_local.template.specs import EventSpec

Log = Callable[[str], None]
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")


class ScheduleError(ValueError):
    """The schedule expression cannot be emulated."""


def rate_seconds(expression: str) -> float:
    """Seconds between two runs of ``rate(...)``; ScheduleError for anything else."""
    expr = expression.strip()
    match = _RATE.match(expr)
    if match:
        value, unit = int(match.group(1)), match.group(2)
        if unit not in _UNITS or value < 1:
            raise ScheduleError(f"{expr}: not a valid rate expression")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleError(
                f"{expr}: AWS wants the singular unit for 1 and the plural otherwise"
            )
        return float(value * _UNITS[unit])
    if expr.startswith(("cron(", "at(")):
        raise ScheduleError(
            f"{expr}: only rate(...) schedules are emulated locally; this one is not run"
        )
    raise ScheduleError(f"{expr}: not a schedule expression")


def is_enabled(event: EventSpec) -> bool:
    props = event.properties
    if event.type == "ScheduleV2":
        return str(props.get("State", "ENABLED")).upper() != "DISABLED"
    return props.get("Enabled", True) not in (False, "false", "False")


class ScheduleEventSource:
    """Invokes a function on a ``rate(...)`` schedule in a background thread."""

    def __init__(
        self,
        function_name: str,
        event: EventSpec,
        invoker: Invoker,
        *,
        region: str = DEFAULT_REGION,
        stack_name: str = "eventflow-local",
        log: Log = print,
        period_s: float | None = None,
    ) -> None:
        self.function_name = function_name
        self.event = event
        self.invoker = invoker
        self.region = region
        self.log = log
        props = event.properties
        self.expression = str(props.get("Schedule") or props.get("ScheduleExpression") or "")
        self.period_s = period_s if period_s is not None else rate_seconds(self.expression)
        name = props.get("Name") or f"{stack_name}-{function_name}-{event.name}"
        if event.type == "ScheduleV2":
            group = props.get("GroupName", "default")
            self.rule_arn = f"arn:aws:scheduler:{region}:{LOCAL_ACCOUNT}:schedule/{group}/{name}"
        else:
            self.rule_arn = f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{name}"
        raw_input = props.get("Input")
        self.input: Any = json.loads(raw_input) if isinstance(raw_input, str) else raw_input
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def build_event(self) -> Any:
        return self.input if self.input is not None else schedule_event(self.rule_arn, self.region)

    def fire(self) -> None:
        self.runs += 1
        self.invoker.invoke(self.build_event(), trigger="schedule", batch_size=None)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"schedule-{self.function_name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.fire()
            except Exception as exc:  # one failed run must not end the schedule
                self.log(f"{self.function_name}.{self.event.name}: scheduled run failed: {exc!r}")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
