"""The template's event-pattern rules, read as EventBridge would take them.

An ``AWS::Events::Rule`` with an ``EventPattern`` ("AWS::Events::Rule",
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-rule.html),
whether a user wrote it or SAM's transform made it of an ``EventBridgeRule`` or ``CloudWatchEvent``
event (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventbridgerule.html):

- ``EventBusName`` (a name or ARN; default ``default``), ``State`` (``DISABLED``: named, matches
  nothing; ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` is enabled);
- ``EventPattern`` (an object or JSON text) in EventBridge's pattern grammar ("Amazon EventBridge
  event patterns", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html),
  which ``eventsources/filters.py`` checks and matches; a pattern EventBridge refuses is a refused
  rule;
- ``Targets`` ("Amazon EventBridge targets",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html): a function of the
  template, an SQS queue, an SNS topic, each with ``Input``, ``InputPath`` or ``InputTransformer``
  (``schedule/inputs.py``) and, for a FIFO queue, ``SqsParameters.MessageGroupId``. Other target
  types are named.
- each target's ``RetryPolicy`` (``MaximumRetryAttempts`` 0-185, ``MaximumEventAgeInSeconds``
  60-86400) and ``DeadLetterConfig.Arn`` (a standard SQS queue) ("Event retry policy and using
  dead-letter queues", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html),
  read by ``retry.read_retry``: a value ``PutTargets`` refuses refuses the target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.eventsources.eventbridge.retry import TargetRetry, read_retry
from eventflow_local.eventsources.filters import FilterError, _check_pattern
from eventflow_local.eventsources.schedule.inputs import check_target_input
from eventflow_local.eventsources.schedule.plan import function_of
from eventflow_local.services.events import RULE_TYPE, bus_name

LAMBDA, SQS, SNS = "lambda", "sqs", "sns"


@dataclass(frozen=True)
class RuleTarget:
    target_id: str
    kind: str
    #: the target's ARN (resolved)
    arn: str
    #: the target's properties (Input, InputPath, InputTransformer, SqsParameters), resolved
    config: dict[str, Any]
    #: kind lambda: the logical id of the template's function
    function: str | None = None
    #: its RetryPolicy and DeadLetterConfig
    retry: TargetRetry = field(default_factory=TargetRetry)

    @property
    def resource_name(self) -> str:
        """The queue's or topic's name (the last part of its ARN)."""
        return self.arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class RuleSpec:
    logical_id: str
    name: str
    arn: str
    bus: str
    pattern: dict[str, Any]
    targets: tuple[RuleTarget, ...]
    enabled: bool = True


@dataclass
class RulePlan:
    rules: list[RuleSpec] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def buses(self) -> dict[str, list[RuleSpec]]:
        """Bus name -> its enabled rules, in the template's order."""
        out: dict[str, list[RuleSpec]] = {}
        for rule in self.rules:
            if rule.enabled:
                out.setdefault(rule.bus, []).append(rule)
        return out


def parse_pattern(raw: Any, where: str) -> dict[str, Any]:
    """The checked pattern of an ``EventPattern`` (FilterError: EventBridge refuses it)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise FilterError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not raw:
        raise FilterError(f"{where}: an event pattern is a non-empty JSON object")
    _check_pattern(raw, where)
    return raw


def plan_rules(template: Any) -> RulePlan:
    """The event-pattern rules of ``template`` (its buses and queues already created)."""
    plan = RulePlan()
    for lid, res in template.resources_of(RULE_TYPE).items():
        props = template.properties(lid)
        if not props.get("EventPattern"):
            continue  # a schedule: eventsources/schedule/
        try:
            pattern = parse_pattern(props["EventPattern"], f"{lid}.EventPattern")
        except FilterError as exc:
            plan.refused.append(str(exc))
            continue
        state = str(props.get("State") or "ENABLED").upper()
        enabled = state != "DISABLED"
        if not enabled:
            plan.skipped.append(f"{lid}: State DISABLED: matches no event")
        raw_targets = (res.get("Properties") or {}).get("Targets") or []
        targets = []
        for index, raw in enumerate(raw_targets):
            target = _target(template, plan, lid, index, raw)
            if target is not None:
                targets.append(target)
        plan.rules.append(
            RuleSpec(
                lid,
                name=str(template.get_att(lid, "RuleName")),
                arn=str(template.get_att(lid, "Arn")),
                bus=bus_name(props.get("EventBusName")),
                pattern=pattern,
                targets=tuple(targets),
                enabled=enabled,
            )
        )
    return plan


def _target(template: Any, plan: RulePlan, lid: str, index: int, raw: Any) -> RuleTarget | None:
    if not isinstance(raw, dict) or raw.get("Arn") is None:
        plan.refused.append(f"{lid}: Targets[{index}].Arn: required property missing")
        return None
    config = dict(template.resolve_at(lid, raw))
    target_id = str(config.get("Id") or index)
    where = f"{lid}.Targets[{target_id}]"
    arn = str(config["Arn"])
    function = function_of(template, raw["Arn"])
    kind = LAMBDA if function else SQS if ":sqs:" in arn else SNS if ":sns:" in arn else None
    if kind is None:
        plan.skipped.append(
            f"{where}: {arn}: not emulated (targets: the template's functions, SQS queues, "
            "SNS topics)"
        )
        return None
    retry, refusal = read_retry(config, where)
    if refusal:
        plan.refused.append(refusal)
        return None
    why = check_target_input(config)
    if why:
        plan.refused.append(f"{where}: {why}")
        return None
    if kind == SQS and arn.endswith(".fifo"):
        group = (config.get("SqsParameters") or {}).get("MessageGroupId")
        if not group:
            plan.refused.append(
                f"{where}: SqsParameters.MessageGroupId: required for a FIFO queue target"
            )
            return None
    return RuleTarget(target_id, kind, arn, config, function, retry)
