"""The schedules of a template: ``AWS::Events::Rule`` with a ``ScheduleExpression`` and
``AWS::Scheduler::Schedule``, whose targets are functions of the template.

SAM's ``Schedule`` event is an ``AWS::Events::Rule`` once transformed, its ``ScheduleV2`` an
``AWS::Scheduler::Schedule``
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedule.html,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedulev2.html),
so both are read from those resources, whether SAM made them or a user wrote them.

- ``AWS::Events::Rule``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html):
  ``ScheduleExpression`` (rate or cron, UTC), ``State`` (``DISABLED``: named, never fires),
  ``Targets`` whose ``Arn`` is a function of the template (``!GetAtt Fn.Arn``, ``!Ref`` of its
  alias or version, or its ARN with or without a qualifier), each with ``Input``, ``InputPath`` or
  ``InputTransformer`` (``inputs.py``). Other targets (SQS, SNS, Step Functions ...) and
  ``RetryPolicy``/``DeadLetterConfig`` are named, one line each. A rule with an ``EventPattern``
  and no schedule is ``eventsources/eventbridge/``'s.
- ``AWS::Scheduler::Schedule``
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-scheduler-schedule.html):
  ``ScheduleExpression`` (rate, cron, at) in ``ScheduleExpressionTimezone`` (default UTC),
  ``State``, ``StartDate``/``EndDate`` (ignored for one-time schedules, as AWS does),
  ``FlexibleTimeWindow`` (``FLEXIBLE`` is named: here it fires at the exact time), ``Target.Arn``
  and ``Target.Input`` with its context attributes; no ``Input``: the function receives ``{}``
  (Scheduler's "default notification" to a templated Lambda target).

A mistake AWS refuses at deploy (an expression it does not take, two input kinds on one target)
is one ``refused`` line and that schedule does not start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventflow_local.events.schedule import schedule_event, scheduler_context, with_context
from eventflow_local.eventsources.schedule.expressions import At, ScheduleError, Timing, parse
from eventflow_local.eventsources.schedule.inputs import check_target_input, target_input
from eventflow_local.template.lambda_resources import target_function_name

RULE = "AWS::Events::Rule"
SCHEDULE = "AWS::Scheduler::Schedule"
_FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
_QUALIFIED = ("AWS::Lambda::Alias", "AWS::Lambda::Version")


class Template(Protocol):
    """What the plan reads of a template (``template.sam.SamTemplate`` is one)."""

    doc: dict[str, Any]
    attributes: dict[str, dict[str, Any]]

    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]: ...
    def resolve_at(self, where: str, value: Any) -> Any: ...
    def ref(self, name: str) -> Any: ...
    def get_att(self, logical_id: str, attr: str) -> Any: ...


@dataclass(frozen=True)
class ScheduleTarget:
    target_id: str
    #: the logical id of the function it invokes
    function: str
    #: the target's properties (Input, InputPath, InputTransformer), resolved
    config: dict[str, Any]


@dataclass(frozen=True)
class ScheduleSpec:
    logical_id: str
    resource_type: str
    name: str
    arn: str
    expression: str
    timing: Timing
    tz: tzinfo
    targets: tuple[ScheduleTarget, ...]
    start: datetime | None = None
    end: datetime | None = None
    #: State is not DISABLED
    enabled: bool = True

    @property
    def is_rule(self) -> bool:
        return self.resource_type == RULE

    def next_after(self, after: datetime) -> datetime | None:
        """The next run after ``after`` within StartDate/EndDate, None when there is none."""
        if self.start is not None and after < self.start and not isinstance(self.timing, At):
            after = self.start
        when = self.timing.next_after(after, self.tz)
        if when is not None and self.end is not None and not isinstance(self.timing, At):
            return when if when <= self.end else None
        return when

    def event_for(self, target: ScheduleTarget, when: datetime | None = None) -> Any:
        """What ``target`` receives for a run at ``when`` (now if None)."""
        region = self.arn.split(":")[3]
        if self.is_rule:
            event = schedule_event(self.arn, region, when)
            return target_input(target.config, event, self.arn, self.name)
        raw = target.config.get("Input")
        if raw is None:
            return {}
        text = with_context(str(raw), scheduler_context(self.arn, when))
        try:
            return json.loads(text)
        except ValueError:
            return text


@dataclass
class SchedulePlan:
    schedules: list[ScheduleSpec] = field(default_factory=list)
    #: disabled, ended, or not emulated: one line each
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def find(self, logical_id: str) -> ScheduleSpec | None:
        return next((s for s in self.schedules if s.logical_id == logical_id), None)


def plan_schedules(template: Template, now: datetime | None = None) -> SchedulePlan:
    """The rules with a schedule and the Scheduler schedules of ``template``."""
    now = now or datetime.now(UTC)
    plan = SchedulePlan()
    found = {**template.resources_of(RULE), **template.resources_of(SCHEDULE)}
    resources = [  # in the template's order
        (lid, str(res.get("Type")), (res.get("Properties") or {}))
        for lid, res in template.doc["Resources"].items()
        if lid in found
    ]
    for lid, rtype, raw in resources:
        try:
            spec = _read(template, plan, lid, rtype, raw, now)
        except ScheduleError as exc:
            plan.refused.append(f"{lid}: ScheduleExpression: {exc}")
            continue
        if spec is not None:
            plan.schedules.append(spec)
    return plan


def _read(
    template: Template,
    plan: SchedulePlan,
    lid: str,
    rtype: str,
    raw: dict[str, Any],
    now: datetime,
) -> ScheduleSpec | None:
    props = template.resolve_at(lid, raw)
    expression = props.get("ScheduleExpression")
    if rtype == RULE and not expression:
        if not props.get("EventPattern"):
            plan.refused.append(f"{lid}: a rule needs a ScheduleExpression or an EventPattern")
        return None  # an event-pattern rule: eventsources/eventbridge/
    if not expression:
        plan.refused.append(f"{lid}: ScheduleExpression: required property missing")
        return None
    tz: tzinfo = UTC
    zone = props.get("ScheduleExpressionTimezone")
    if rtype == SCHEDULE and zone:
        try:
            tz = ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            plan.refused.append(f"{lid}: ScheduleExpressionTimezone: {zone}: not a time zone")
            return None
    timing = parse(str(expression), allow_at=rtype == SCHEDULE, tz=tz)
    state = str(props.get("State") or "ENABLED").upper()
    if state == "DISABLED":
        plan.skipped.append(f"{lid}: State DISABLED: {expression} does not fire (fire it now)")
    raw_targets = raw.get("Targets") if rtype == RULE else [raw.get("Target")]
    targets = []
    for index, raw_target in enumerate(raw_targets or []):
        target = _target(template, plan, lid, rtype, index, raw_target)
        if target is not None:
            targets.append(target)
    # the name and ARN CloudFormation gives it, as !Ref / !GetAtt .Arn read them
    arn = str(template.get_att(lid, "Arn"))
    name = str(template.get_att(lid, "RuleName") if rtype == RULE else template.ref(lid))
    if rtype == SCHEDULE:
        window = props.get("FlexibleTimeWindow") or {}
        if str(window.get("Mode", "OFF")).upper() == "FLEXIBLE":
            plan.skipped.append(
                f"{lid}.FlexibleTimeWindow: FLEXIBLE: fires at the exact time locally"
            )
    try:
        start, end = _date(props.get("StartDate")), _date(props.get("EndDate"))
    except ValueError as exc:
        plan.refused.append(f"{lid}: StartDate/EndDate: {exc}")
        return None
    spec = ScheduleSpec(
        lid,
        rtype,
        name,
        arn,
        str(expression),
        timing,
        tz,
        tuple(targets),
        start,
        end,
        enabled=state != "DISABLED",
    )
    if spec.enabled and spec.next_after(now) is None:
        plan.skipped.append(f"{lid}: {expression}: no run left (its time has passed; fire it now)")
    return spec if targets else None


def _date(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _target(
    template: Template, plan: SchedulePlan, lid: str, rtype: str, index: int, raw: Any
) -> ScheduleTarget | None:
    if not isinstance(raw, dict) or raw.get("Arn") is None:
        plan.refused.append(f"{lid}: Target.Arn: required property missing")
        return None
    config = dict(template.resolve_at(lid, raw))
    target_id = str(config.get("Id") or index)
    where = f"{lid}.Targets[{target_id}]" if rtype == RULE else f"{lid}.Target"
    function = function_of(template, raw["Arn"])
    if function is None:
        plan.skipped.append(
            f"{where}: {config['Arn']}: only function targets of the template are emulated"
        )
        return None
    for prop in ("RetryPolicy", "DeadLetterConfig"):
        if config.get(prop):
            plan.skipped.append(
                f"{where}.{prop}: not emulated (one invocation per run, no dead-letter queue)"
            )
    why = check_target_input(config) if rtype == RULE else _check_scheduler_input(config)
    if why:
        plan.refused.append(f"{where}: {why}")
        return None
    return ScheduleTarget(target_id, function, config)


def _check_scheduler_input(config: dict[str, Any]) -> str | None:
    """A templated Lambda target's Input must be well-formed JSON (context attributes in it)."""
    raw = config.get("Input")
    if raw is None:
        return None
    sample = scheduler_context("arn", datetime(2000, 1, 1, tzinfo=UTC))
    try:
        json.loads(with_context(str(raw), sample))
    except ValueError:
        return "Input: a Lambda target's input must be well-formed JSON"
    return None


def function_of(template: Template, raw: Any) -> str | None:
    """The logical id of the template's function an ARN (raw, unresolved) names, or None."""
    resources = template.doc["Resources"]
    if isinstance(raw, dict) and len(raw) == 1:
        key, arg = next(iter(raw.items()))
        if key == "Ref":
            return _follow(template, str(arg))
        if key == "Fn::GetAtt":
            lid = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
            return _follow(template, str(lid))
    text = str(template.resolve_at("Targets", raw))
    if text in resources:
        return _follow(template, text)
    if ":function:" not in text:
        return None
    name = target_function_name(text)
    for lid, res in resources.items():
        if (
            res.get("Type") in _FUNCTION_TYPES
            and template.attributes.get(lid, {}).get("Ref", lid) == name
        ):
            return lid
    return None


def _follow(template: Template, lid: str) -> str | None:
    """A function's logical id from itself, its alias or its version."""
    res = template.doc["Resources"].get(lid) or {}
    if res.get("Type") in _FUNCTION_TYPES:
        return lid
    if res.get("Type") in _QUALIFIED:
        return function_of(template, (res.get("Properties") or {}).get("FunctionName"))
    return None
