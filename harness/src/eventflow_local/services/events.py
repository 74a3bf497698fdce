"""The template's ``AWS::Events::EventBus`` resources and event-pattern rules, created in the
embedded moto server.

"Event buses" (EventBridge user guide, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html):
every account has the ``default`` bus, which receives the events of AWS services and of any
``PutEvents`` that names no bus; a template adds custom buses. CloudFormation creates each with its
``Name`` ("AWS::Events::EventBus",
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbus.html);
``!Ref Bus`` and ``!GetAtt Bus.Name`` are its name, ``!GetAtt Bus.Arn`` the emulator's ARN, so a
function calling ``events.put_events(Entries=[{"EventBusName": os.environ["BUS"], ...}])`` reaches
the bus through ``AWS_ENDPOINT_URL``. moto has the ``default`` bus from the start.

The template's rules with an ``EventPattern`` are created on their buses too (``put_rule``, no
targets), so that ``ListRules``/``DescribeRule`` answer as on AWS; they deliver nothing in moto:
the harness matches and delivers (``eventsources/eventbridge/``).

The moto server keeps its data in memory: a restarted harness creates the buses again (same names
and ARNs).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.template.cfn_names import name_of
from eventflow_local.template.sam import SamTemplate

BUS_TYPE = "AWS::Events::EventBus"
RULE_TYPE = "AWS::Events::Rule"
DEFAULT_BUS = "default"


def bus_name(value: Any) -> str:
    """A bus name from an ``EventBusName`` (a name or an ARN; none: ``default``)."""
    return name_of(value or DEFAULT_BUS, "/")


def ensure_buses(
    template: SamTemplate, endpoint: Any
) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    """Create (or reuse) every bus of ``template`` on ``endpoint`` (a ``DynamoEndpoint``).
    Returns logical id -> ``{"Ref": name, "Arn", "Name"}``, the "not emulated" lines (an
    endpoint that serves no EventBridge) and the refused lines (a bus EventBridge refuses)."""
    declared = template.resources_of(BUS_TYPE)
    if not declared:
        return {}, [], []
    if not endpoint.emulates_services:
        return (
            {},
            [
                f"{lid}: {BUS_TYPE} is created only on the embedded moto server or LocalStack, "
                f"not on {endpoint.url}"
                for lid in declared
            ],
            [],
        )
    client = endpoint.client("events")
    out: dict[str, dict[str, str]] = {}
    refused: list[str] = []
    for lid in declared:
        name = str(template.get_att(lid, "Name"))
        if name == DEFAULT_BUS:
            refused.append(f"{lid}: Name: the default bus exists in every account; not created")
            continue
        try:
            arn = client.create_event_bus(Name=name)["EventBusArn"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "ResourceAlreadyExistsException":
                refused.append(f"{lid}: {error.get('Code')}: {error.get('Message')}")
                continue
            arn = client.describe_event_bus(Name=name)["Arn"]
        out[lid] = {"Ref": name, "Arn": arn, "Name": name}
    return out, [], []


def ensure_pattern_rules(template: SamTemplate, endpoint: Any) -> list[str]:
    """Create the template's event-pattern rules on their buses (``template`` read with the
    buses' physical ids), without targets; the lines of those the emulator did not take."""
    if not endpoint.emulates_services:
        return []
    rules = [
        lid
        for lid in template.resources_of(RULE_TYPE)
        if template.properties(lid).get("EventPattern")
    ]
    if not rules:
        return []
    client = endpoint.client("events")
    lines = []
    for lid in rules:
        props = template.properties(lid)
        pattern = props["EventPattern"]
        kwargs: dict[str, Any] = {
            "Name": str(template.get_att(lid, "RuleName")),
            "EventBusName": bus_name(props.get("EventBusName")),
            "EventPattern": pattern if isinstance(pattern, str) else json.dumps(pattern),
            "State": "DISABLED" if str(props.get("State")).upper() == "DISABLED" else "ENABLED",
        }
        if props.get("Description"):
            kwargs["Description"] = str(props["Description"])
        try:
            client.put_rule(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            lines.append(
                f"{lid}: not listed by the emulator's ListRules ({error.get('Code')}: "
                f"{error.get('Message')}); its events are delivered all the same"
            )
    return lines
