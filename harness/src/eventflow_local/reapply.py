"""A saved template's routes, event sources, resources and removed functions applied to the
running ``Stack`` (reload on save, ``eventflow_local.runtime.reload``; what changed is sorted by
``eventflow_local.runtime.replan``).

On AWS a ``sam deploy`` of the changed template creates, updates or deletes each resource; here
the same effect is applied where it can be without a restart:

- resources: a new table (with its stream), queue, topic, Kinesis stream, bucket, event bus or
  secret is created in the embedded engine as at start (``services/startup.py``), and the
  template is read again with its physical id, so a function whose ``Environment`` ``!Ref``\\s it
  gets the new value (its workers are retired by reload like any settings change). A resource
  removed from the template is kept: the local data is not deleted (CloudFormation would delete
  it unless its ``DeletionPolicy`` is ``Retain``).
- API routes: the route table of the running API server is built again from the new template
  (``apigw/plan.py``) and swapped in one assignment (``ApiGateway.replace_routes``): a request
  under way finishes on the table it started with, the next one uses the new table, so a removed
  REST route answers 403 ``Missing Authentication Token`` and a removed HTTP API route 404.
- event source mappings (Kafka, DynamoDB stream, Kinesis, SQS): a new one starts, a removed one
  stops (the messages stay in the queue, the records in the stream), a changed one (batch size,
  filters, ``Enabled``...) stops and starts with the new configuration. As with
  ``UpdateEventSourceMapping``, a changed Kafka mapping whose topic and starting position are the
  same keeps its consumer group, so it goes on from its committed offsets; a new mapping starts
  from its ``StartingPosition`` as a mapping created on AWS does (its default consumer group is
  the new mapping's UUID: https://docs.aws.amazon.com/lambda/latest/dg/kafka-consumer-group-id.html). A stream mapping goes
  on from its checkpoint (kept per function and event in the state dir).
- schedules, SNS subscriptions, EventBridge rules and S3 notifications: when any of them changes
  they all stop and start again from the new template (they are few and keep no position).
- a removed function: its routes and sources go (above), the Lambda Invoke API answers 404
  ``ResourceNotFoundException`` for it, and its workers stop once their invocation ends.

Thread-safety: this runs on the reload thread while the API server and the pollers run; every
shared collection is replaced by one assignment (``stack.sources``, the gateway's route table)
or changed one key at a time (``stack.runtimes``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from eventflow_local.apigw.plan import openapi_builder, plan_api
from eventflow_local.eventsources import deliveries, factory
from eventflow_local.runtime.replan import (
    SOURCE_PROPERTIES,
    SOURCE_TYPES,
    TemplateChanges,
    resources,
)
from eventflow_local.services import startup
from eventflow_local.services.broker import ensure_topics
from eventflow_local.services.events import ensure_pattern_rules
from eventflow_local.template.kafka import template_topics
from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import EventSpec

#: SAM events that become schedules, subscriptions, rules or notifications (not mappings)
DELIVERY_EVENTS = frozenset(
    {"Schedule", "ScheduleV2", "SNS", "EventBridgeRule", "CloudWatchEvent", "S3"}
)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def source_context(stack: Any, template: SamTemplate) -> factory.SourceContext:
    """What the event sources of ``template`` need of the running ``stack``."""
    return factory.SourceContext(
        bootstrap_servers=stack._bootstrap or "",
        region=stack.region,
        state_dir=stack.state_dir,
        streams_client=stack.dynamo.streams,
        destinations=stack.destinations,
        log=stack.log,
        stream_poll_interval=stack.settings.stream_poll_interval,
        schedules=deliveries.read_schedules(template),
        subscriptions=deliveries.read_subscriptions(template),
        rules=deliveries.read_rules(template),
        notifications=deliveries.read_notifications(template),
    )


def delivery_key(template: SamTemplate, running: Iterable[str]) -> str:
    """The schedules, subscriptions, rules and notifications of ``template`` for the ``running``
    functions, comparable across two readings (they start again when it differs)."""
    written = resources(template)
    events: dict[str, Any] = {}
    for lid in sorted(running):
        declared = ((written.get(lid) or {}).get("Properties") or {}).get("Events") or {}
        mine = {
            name: event
            for name, event in declared.items()
            if isinstance(event, dict) and event.get("Type") in DELIVERY_EVENTS
        }
        if mine:
            events[lid] = mine
    others: dict[str, Any] = {}
    for lid, resource in written.items():
        kind = str(resource.get("Type"))
        if kind in SOURCE_TYPES:
            others[lid] = resource
        elif kind in SOURCE_PROPERTIES:
            props = resource.get("Properties") or {}
            named = {k: props[k] for k in sorted(SOURCE_PROPERTIES[kind]) if k in props}
            if named:
                others[lid] = named
    return _canonical([events, others])


def create_resources(stack: Any, declared: SamTemplate) -> tuple[SamTemplate, list[str]]:
    """The template's resources created (the existing ones reused, as at start) and the template
    read with their physical ids; the lines of what was refused."""
    quiet: list[str] = []
    created = startup.create_resources(
        declared, stack.dynamo, table_prefix=stack.table_prefix, log=quiet.append
    )
    stack.tables, stack.queues = created.tables.tables, created.queues
    stack.secrets = created.secrets
    new = [line for line in created.refused if line not in stack.refused]
    stack.refused.extend(new)
    return created.template, new


def create_topics(stack: Any, template: SamTemplate) -> list[str]:
    """The Kafka topics the template names that the broker does not have yet, created."""
    if not stack._bootstrap:
        return []
    new = [t for t in template_topics(template) if t not in stack.topics]
    if new:
        ensure_topics(stack._bootstrap, {topic: stack.partitions for topic in new})
        stack.topics = [*stack.topics, *new]
    return new


def _routes(gateway: Any) -> set[str]:
    rest = {f"{o.method} {o.path}" for o in gateway.router.operations() if o.function}
    return rest | {r.route_key for r in gateway.http_routes}


def swap_routes(stack: Any, template: SamTemplate) -> list[str]:
    """The API server serves ``template``'s routes from the next request on; the phrases of
    the routes added and removed."""
    gateway = stack.gateway
    if gateway is None:
        return []
    before = _routes(gateway)
    plan = plan_api(template, set(stack.runtimes))
    openapi = openapi_builder(
        template,
        plan,
        stack.runtimes,
        lambda: str(gateway.url),
        api_token=stack.api_token,
        log=stack.log,
    )
    gateway.replace_routes(plan.apis, plan.plans, plan.http_apis, openapi)
    stack.auth = plan
    for line in plan.refused:
        if line not in stack.refused:
            stack.refused.append(line)
            stack.log(f"refused: {line}")
    after = _routes(gateway)
    return [f"route {r} added" for r in sorted(after - before)] + [
        f"route {r} removed" for r in sorted(before - after)
    ]


def _same(old: EventSpec, new: EventSpec) -> bool:
    return old.type == new.type and _canonical(old.properties) == _canonical(new.properties)


def _inherit(old: Any) -> Callable[[Any], None] | None:
    """A changed Kafka mapping keeps its consumer group (its committed offsets) when its topics
    and starting position stay and no ConsumerGroupId is set (``UpdateEventSourceMapping``)."""
    if old is None or not hasattr(old, "group_id"):
        return None

    def before(new: Any) -> None:
        if not hasattr(new, "group_id") or new.config.group_id in _named_groups(new.event):
            return
        if (new.topics, new.starting_position) == (old.topics, old.starting_position):
            new.group_id = new.config.group_id = old.group_id

    return before


def _named_groups(event: EventSpec) -> set[str]:
    props = event.properties
    named = {props.get("ConsumerGroupId")}
    for nested in ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig"):
        named.add((props.get(nested) or {}).get("ConsumerGroupId"))
    return {str(n) for n in named if n}


def _stop(stack: Any, sources: Iterable[Any]) -> None:
    for source in sources:
        try:
            source.stop()
        except Exception as exc:
            stack.log(f"stopping {type(source).__name__}: {exc!r}")


def restart_sources(
    stack: Any, template: SamTemplate, functions: set[str], *, deliveries_changed: bool
) -> list[str]:
    """The mappings of ``functions`` made to match ``template`` (unchanged ones keep running),
    and with ``deliveries_changed`` the schedules, subscriptions, rules and notifications
    started again; the phrases of what started and stopped."""
    if not stack.with_event_sources or stack.destinations is None:
        return []
    specs = template.functions()
    keep: list[Any] = []
    stop: list[Any] = []
    old: dict[tuple[str, str], Any] = {}
    for source in stack.sources:
        if factory.is_mapping(source):
            if source.function_name in functions:
                old[(source.function_name, source.event.name)] = source
            else:
                keep.append(source)
        else:
            (stop if deliveries_changed else keep).append(source)
    start: list[tuple[str, EventSpec, Any]] = []
    for lid in sorted(functions):
        spec = specs.get(lid)
        for event in spec.events if spec is not None and lid in stack.runtimes else []:
            previous = old.pop((lid, event.name), None)
            if previous is not None and _same(previous.event, event):
                keep.append(previous)
            else:
                start.append((lid, event, previous))
    said = [f"source {lid}.{name} stopped" for (lid, name) in sorted(old)]
    _stop(stack, [*old.values(), *(p for _, _, p in start if p is not None), *stop])
    context = source_context(stack, template)
    found = factory.StartedSources()
    for lid, event, previous in start:
        try:
            made = factory.start_mapping(
                context, found, lid, stack.runtimes[lid], event, before=_inherit(previous)
            )
        except Exception as exc:  # the others start; this one is named with why
            said.append(f"source {lid}.{event.name} failed to start: {type(exc).__name__}: {exc}")
            continue
        if previous is None:
            verb = "started" if made is not None else "not started"
        else:
            verb = "restarted with its new settings" if made is not None else "stopped"
        said.append(f"source {lid}.{event.name} {verb}")
    if deliveries_changed:
        try:
            found.skipped.extend(ensure_pattern_rules(template, stack.dynamo))  # as at start
            more = factory.start_deliveries(dict(stack.runtimes), context)
        except Exception as exc:
            more = factory.StartedSources()
            said.append(
                "schedules, subscriptions, rules and notifications failed to start: "
                f"{type(exc).__name__}: {exc}"
            )
        else:
            said.append("schedules, subscriptions, rules and notifications started again")
        found.sources.extend(more.sources)
        found.refused.extend(more.refused)
        found.skipped.extend(more.skipped)
    stack.sources = [*keep, *found.sources]  # one assignment: stop() and the report read it
    for line in dict.fromkeys(found.refused):
        if line not in stack.refused:
            stack.refused.append(line)
            stack.log(f"refused: {line}")
    for line in dict.fromkeys(found.skipped):
        if line not in stack.skipped:
            stack.skipped.append(line)
            stack.log(f"not emulated: {line}")
    return said


def remove_functions(stack: Any, lids: Iterable[str]) -> list[Any]:
    """Take removed functions out of the stack: no route, source or Invoke reaches them after
    the caller swaps the routes and sources; returns their runtimes, for the caller to stop."""
    gone = [stack.runtimes.pop(lid) for lid in sorted(lids) if lid in stack.runtimes]
    if stack.lambda_api is not None:
        stack.lambda_api.unregister(sorted(lids))
    return gone


def apply(
    stack: Any, changes: TemplateChanges, fresh: SamTemplate, deliveries_before: str
) -> tuple[list[str], str]:
    """Apply the structural ``changes`` of ``fresh`` (the template with the new resources'
    physical ids) to ``stack``, once its new functions run; returns the phrases of what was
    applied and the new ``delivery_key``."""
    written = resources(fresh)
    said = [f"{_kind(written, lid)} {lid} created" for lid in changes.created]
    topics = create_topics(stack, fresh)
    if topics:
        said.append(f"Kafka topic {', '.join(topics)} created")
    gone = remove_functions(stack, changes.removed)
    functions = changes.events | set(changes.added) | changes.removed
    if changes.apis or functions:
        said += changes.apis + swap_routes(stack, fresh)
    key = delivery_key(fresh, stack.runtimes)
    said += restart_sources(stack, fresh, functions, deliveries_changed=key != deliveries_before)
    for runtime in gone:
        runtime.stop()
        said.append(f"function {runtime.spec.logical_id} stopped (Invoke answers 404)")
    return said, key


def _kind(written: dict[str, dict[str, Any]], lid: str) -> str:
    return str((written.get(lid) or {}).get("Type") or "").rsplit("::", 1)[-1]


def kept_phrases(started: dict[str, Any], lids: Iterable[str]) -> list[str]:
    """One phrase per resource removed from the template: it is kept as it is."""
    return [
        f"{_kind(started, lid)} {lid} removed from the template: kept (local data is not deleted)"
        for lid in lids
    ]
