"""SAM's ``Schedule`` / ``ScheduleV2`` function events as the resources SAM's transform makes of them.

Only for a template read without SAM's transform: the rule or schedule SAM would generate
(logical id ``<Function><Event>``, https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources.html),
so that ``plan.py`` reads one form. A transformed template has those resources already.
"""

from __future__ import annotations

from typing import Any, Protocol

from eventflow_local.eventsources.schedule.plan import RULE, SCHEDULE
from eventflow_local.template.specs import FunctionSpec


class SamFunctions(Protocol):
    def functions(self) -> dict[str, FunctionSpec]: ...


def _pick(props: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: props[n] for n in names if props.get(n) is not None}


def sam_schedule_resources(template: SamFunctions) -> list[tuple[str, str, dict[str, Any]]]:
    """``(logical id, type, properties)`` of the rules and schedules of the functions' events."""
    if hasattr(template, "sam_doc"):  # transformed: the resources are in the template
        return []
    out: list[tuple[str, str, dict[str, Any]]] = []
    for fn, spec in template.functions().items():
        for event in spec.events:
            p = event.properties
            arn = {"Fn::GetAtt": [fn, "Arn"]}
            target = {"Arn": arn, **_pick(p, "Input", "RetryPolicy", "DeadLetterConfig")}
            if event.type == "Schedule":
                enabled = p.get("Enabled", True) not in (False, "false", "False")
                state = p.get("State") or ("ENABLED" if enabled else "DISABLED")
                rule = {
                    "ScheduleExpression": p.get("Schedule"),
                    "State": state,
                    **_pick(p, "Name", "Description"),
                    "Targets": [{**target, "Id": f"{fn}{event.name}LambdaTarget"}],
                }
                out.append((f"{fn}{event.name}", RULE, rule))
            elif event.type == "ScheduleV2":
                schedule = {
                    "Name": p.get("Name") or f"{fn}{event.name}",
                    "FlexibleTimeWindow": p.get("FlexibleTimeWindow") or {"Mode": "OFF"},
                    **_pick(
                        p,
                        "ScheduleExpression",
                        "ScheduleExpressionTimezone",
                        "State",
                        "StartDate",
                        "EndDate",
                        "GroupName",
                    ),
                    "Target": target,
                }
                out.append((f"{fn}{event.name}", SCHEDULE, schedule))
    return out
