"""The event a schedule delivers when its target has no input of its own.

An EventBridge rule that runs on a schedule sends the "Scheduled Event": ``source`` ``aws.events``,
``detail-type`` ``Scheduled Event``, ``resources`` the rule's ARN, an empty ``detail``, the time of
the run ("Creating a scheduled rule" and "Tutorial: Create an EventBridge scheduled rule for AWS
Lambda functions", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/run-lambda-schedule.html). EventBridge
Scheduler sends the
target's ``Input`` with its context attributes (``<aws.scheduler.schedule-arn>``,
``<aws.scheduler.scheduled-time>``, ``<aws.scheduler.execution-id>``,
``<aws.scheduler.attempt-number>``) replaced
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT


def iso_time(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_event(
    rule_arn: str, region: str = DEFAULT_REGION, when: datetime | None = None
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": iso_time(when),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def scheduler_context(schedule_arn: str, when: datetime | None = None) -> dict[str, str]:
    """EventBridge Scheduler's context attributes of one run (its first attempt)."""
    return {
        "aws.scheduler.schedule-arn": schedule_arn,
        "aws.scheduler.scheduled-time": iso_time(when),
        "aws.scheduler.execution-id": uuid.uuid4().hex[:16],
        "aws.scheduler.attempt-number": "1",
    }


def with_context(text: str, context: dict[str, str]) -> str:
    """``text`` with each ``<aws.scheduler.*>`` keyword replaced by its value."""
    for name, value in context.items():
        text = text.replace(f"<{name}>", value)
    return text
