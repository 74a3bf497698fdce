"""The schedules of a ``SamTemplate``: its rules and Scheduler schedules (``plan.py``), and those
SAM's transform makes of ``Schedule`` / ``ScheduleV2`` events when the template was read without
it (``sam_events.py``)."""

from __future__ import annotations

from typing import Any

from eventflow_local.eventsources.schedule.plan import SchedulePlan, plan_schedules
from eventflow_local.eventsources.schedule.sam_events import sam_schedule_resources


def read_schedules(template: Any) -> SchedulePlan:
    return plan_schedules(template, sam_schedule_resources(template))
