"""The console's EventBridge buses: the ``default`` bus and each ``AWS::Events::EventBus`` of the
template, with the event-pattern rules on them.

``GET /_console/api/buses`` lists each bus (name, logical id, ARN) with its rules as the harness
reads them (``eventsources/eventbridge/rules.py``): logical id, name, ARN, state, event pattern
and targets (id, kind ``lambda``/``sqs``/``sns``, ARN, the function's logical id or the queue's
or topic's name), and what the harness did with the events put on the bus (``events`` seen,
``matched`` a rule, ``delivered`` to a target, ``failed``: ``eventsources/eventbridge/delivery.py``).
Every account has the ``default`` bus ("Event buses",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html); a rule on a bus that
is not the template's shows that bus too.

Putting an event on a bus is ``console/events_view.py``.
"""

from __future__ import annotations

from typing import Any

from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT
from eventflow_local.console.sending import Reply
from eventflow_local.eventsources.eventbridge.delivery import BusDelivery
from eventflow_local.eventsources.eventbridge.rules import RuleSpec, plan_rules
from eventflow_local.services.events import BUS_TYPE, DEFAULT_BUS


def _rule_row(rule: RuleSpec) -> dict[str, Any]:
    return {
        "logicalId": rule.logical_id,
        "name": rule.name,
        "arn": rule.arn,
        "enabled": rule.enabled,
        "pattern": rule.pattern,
        "targets": [
            {
                "id": t.target_id,
                "kind": t.kind,
                "arn": t.arn,
                "target": t.function or t.resource_name,
            }
            for t in rule.targets
        ],
    }


def bus_rows(stack: Any) -> list[dict[str, Any]]:
    """The default bus, then the template's, then any other a rule names; each with its rules."""
    template = stack.template
    if template is None:
        return []
    region = getattr(stack, "region", None) or DEFAULT_REGION
    buses: dict[str, dict[str, Any]] = {
        DEFAULT_BUS: {
            "name": DEFAULT_BUS,
            "logicalId": None,
            "arn": f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:event-bus/{DEFAULT_BUS}",
        }
    }
    for lid in template.resources_of(BUS_TYPE):
        name = str(template.ref(lid))
        buses[name] = {"name": name, "logicalId": lid, "arn": str(template.get_att(lid, "Arn"))}
    rules: dict[str, list[dict[str, Any]]] = {}
    for rule in plan_rules(template).rules:
        buses.setdefault(rule.bus, {"name": rule.bus, "logicalId": None, "arn": None})
        rules.setdefault(rule.bus, []).append(_rule_row(rule))
    stats = {s.bus: dict(s.stats) for s in list(stack.sources) if isinstance(s, BusDelivery)}
    return [
        {**bus, "rules": rules.get(name, []), "stats": stats.get(name)}
        for name, bus in buses.items()
    ]


def listing(stack: Any) -> Reply:
    """``GET /_console/api/buses``."""
    return 200, {"buses": bus_rows(stack)}


def bus_named(stack: Any, name: str) -> dict[str, Any] | None:
    """The bus row of ``name`` (a name, logical id or ARN), if the console lists it."""
    return next(
        (row for row in bus_rows(stack) if name in (row["name"], row["logicalId"], row["arn"])),
        None,
    )
