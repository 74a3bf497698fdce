"""What a template would start, decided without starting anything (``eventflow-local validate``).

``plan_stack`` reads the template as ``Stack.start`` does (the local Kafka parameters, then the
user's overrides; SAM's and CloudFormation's rules, a template AWS rejects raising
``TemplateError``) and goes through the same deciding steps with the same functions: the
template's findings (``SamTemplate.refused`` / ``findings``), the functions selected
(``runtime.starting.select_functions``), each event's source configuration
(``eventsources.config.parse_config``, the rules and schedules of ``schedule.plan``), and
the API (``apigw.plan.plan_api`` and its ``describe``: authorizers, validators, API keys). No broker, no DynamoDB, no
worker process, no build: what those would add at start (a table DynamoDB refuses, a package
``pip`` cannot install) is said when ``up`` starts them.

This is SAM CLI's ``sam validate`` habit with the local harness's answer: what will run here,
what is named as not emulated and why, and what AWS would refuse at deploy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eventflow_local.apigw.plan import plan_api
from eventflow_local.aws import DEFAULT_REGION, KAFKA_EVENT_TYPES
from eventflow_local.eventsources.config import EsmConfigError, SourceConfig, parse_config
from eventflow_local.eventsources.eventbridge.rules import plan_rules
from eventflow_local.eventsources.s3.plan import plan_notifications
from eventflow_local.eventsources.schedule.plan import SchedulePlan, plan_schedules
from eventflow_local.eventsources.sns.subscriptions import plan_subscriptions
from eventflow_local.eventsources.sqs.config import parse_sqs_config
from eventflow_local.report import event_line
from eventflow_local.runtime.starting import select_functions
from eventflow_local.template.kafka import local_kafka_parameters
from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import FunctionSpec

#: where the embedded broker is assumed to listen when nothing has started
PLANNED_BOOTSTRAP = "127.0.0.1:9092"


def read_template(
    path: Path, parameters: Mapping[str, str], region: str, bootstrap_servers: str
) -> SamTemplate:
    """The template with the parameters that point it at the local resources, then the user's."""
    local = local_kafka_parameters(path, bootstrap_servers, region)
    return SamTemplate(path, local | dict(parameters), region=region)


@dataclass
class StackPlan:
    """The start-up plan: what runs, what is not emulated, what AWS would refuse."""

    template: str
    functions: list[str] = field(default_factory=list)
    #: one line per group of REST routes with what they need, then HTTP API route keys
    routes: list[str] = field(default_factory=list)
    #: "<Function> <- <source> (<settings>)"
    sources: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.template}: accepted; `up` would start:"]
        sections = (
            ("Functions", self.functions),
            ("Routes", self.routes),
            ("Event sources", self.sources),
            ("Tables", self.tables),
        )
        for title, items in sections:
            out.append(f"  {title:<14}{'' if items else '-'}")
            out.extend(f"    {item}" for item in items)
        out.extend(f"refused: {line}" for line in self.refused)
        out.extend(f"not emulated: {line}" for line in self.skipped)
        return out


def _settings(cfg: SourceConfig) -> str:
    """The key settings of one event source mapping, as ``up`` would run it."""
    parts = [f"batch {cfg.batch_size}", f"starting {cfg.starting_position}"]
    if cfg.batching_window:
        parts.append(f"window {cfg.batching_window:g} s")
    if cfg.max_retries >= 0:
        parts.append(f"retries {cfg.max_retries}")
    if cfg.bisect:
        parts.append("bisect on error")
    if cfg.report_batch_item_failures:
        parts.append("partial batch responses")
    if cfg.filter is not None:
        parts.append("filtered")
    if cfg.on_failure:
        parts.append(f"on failure -> {cfg.on_failure}")
    return f" ({', '.join(parts)})"


def _plan_sources(
    functions: Mapping[str, FunctionSpec], plan: StackPlan, tables: Mapping[str, Mapping[str, str]]
) -> None:
    """Each event of the selected functions: started, refused or named (eventsources/factory)."""
    for logical_id, spec in functions.items():
        for event in spec.events:
            where = f"{logical_id}.{event.name}"
            if event.type == "SQS":
                try:
                    sqs = parse_sqs_config(logical_id, event.name, event.properties)
                except EsmConfigError as exc:
                    plan.refused.append(str(exc))
                    continue
                plan.skipped.extend(sqs.not_emulated)
                if sqs.enabled:
                    plan.sources.append(
                        f"{logical_id} <- {event_line(event, tables)} (batch {sqs.batch_size})"
                    )
            elif event.type in KAFKA_EVENT_TYPES or event.type in ("DynamoDB", "Kinesis"):
                try:
                    cfg = parse_config(logical_id, event.name, event.type, event.properties)
                except EsmConfigError as exc:
                    plan.refused.append(str(exc))
                    continue
                plan.skipped.extend(cfg.not_emulated)
                if cfg.enabled:
                    line = event_line(event, tables)
                    plan.sources.append(f"{logical_id} <- {line}{_settings(cfg)}")
            else:
                plan.skipped.append(f"{where}: event type {event.type} is not emulated")


def _plan_deliveries(template: SamTemplate, selected: set[str], plan: StackPlan) -> None:
    """The SNS subscriptions, EventBridge rules and S3 notifications that invoke the selected
    functions, as ``eventsources.deliveries`` starts them."""
    subscriptions, rules, notifications = (
        plan_subscriptions(template),
        plan_rules(template),
        plan_notifications(template),
    )
    for found in (subscriptions, rules, notifications):
        plan.refused.extend(found.refused)
        plan.skipped.extend(found.skipped)
    lines = [
        (s.function, f"SNS topic {s.topic_arn.rsplit(':', 1)[-1]} ({s.logical_id})")
        for s in subscriptions.subscriptions
        if s.protocol == "lambda"
    ]
    lines += [
        (t.function, f"EventBridge rule {r.logical_id} on bus {r.bus}")
        for r in rules.rules
        if r.enabled
        for t in r.targets
    ]
    lines += [
        (n.function, f"S3 bucket {b.name} {n.event}")
        for b in notifications.buckets
        for n in b.specs
        if n.kind == "lambda"
    ]
    for function, line in dict.fromkeys(lines):
        if function in selected:
            plan.sources.append(f"{function} <- {line}")


def _plan_schedules(schedules: SchedulePlan, selected: set[str], plan: StackPlan) -> None:
    """Each rule and Scheduler schedule whose functions run, as ``eventsources.factory`` starts
    them (a disabled one too: it only fires on demand)."""
    plan.refused.extend(schedules.refused)
    plan.skipped.extend(schedules.skipped)
    for spec in schedules.schedules:
        state = "" if spec.enabled else " (DISABLED: fired on demand only)"
        for function in sorted({t.function for t in spec.targets} & selected):
            line = f"{spec.resource_type} {spec.logical_id} {spec.expression}{state}"
            plan.sources.append(f"{function} <- {line}")


def plan_stack(
    template_path: Path | str,
    parameters: Mapping[str, str] | None = None,
    *,
    region: str = DEFAULT_REGION,
    functions: Iterable[str] | None = None,
    api: bool = True,
    event_sources: bool = True,
) -> StackPlan:
    """The plan of ``Stack(template_path, parameters, ...).start()``; ``TemplateError`` when
    CloudFormation or SAM would reject the template whole."""
    path = Path(template_path).resolve()
    template = read_template(path, parameters or {}, region, PLANNED_BOOTSTRAP)
    plan = StackPlan(template=str(template_path))
    declared_tables = template.tables()
    names = {lid: {"Ref": str(template.ref(lid))} for lid in declared_tables}
    for lid in declared_tables:
        stream = declared_tables[lid].get("StreamSpecification")
        view = f", stream {stream['StreamViewType']}" if stream else ""
        plan.tables.append(f"{lid} ({names[lid]['Ref']}{view})")
        names[lid]["StreamArn"] = str(template.get_att(lid, "StreamArn"))
    specs = template.functions()
    template.layer_dirs()
    selected = select_functions(specs, set(functions) if functions is not None else None, path.name)
    plan.functions = [
        f"{lid} ({spec.runtime}, {spec.handler}, {spec.timeout} s, {spec.memory_size} MB)"
        for lid, spec in selected.items()
    ]
    if event_sources:
        _plan_sources(selected, plan, names)
        _plan_schedules(plan_schedules(template), set(selected), plan)
        _plan_deliveries(template, set(selected), plan)
    if api:
        api_plan = plan_api(template, set(selected))
        plan.routes = api_plan.describe("$LOCAL_API_TOKEN")
        if api_plan.http_routes:
            keys = ", ".join(r.route_key for r in api_plan.http_routes)
            plan.routes.append(f"HTTP API ($default stage): {keys}")
        plan.refused.extend(api_plan.refused)
        plan.skipped.extend(api_plan.skipped)
    plan.refused[:0] = template.refused
    plan.skipped[:0] = template.findings()
    return plan
