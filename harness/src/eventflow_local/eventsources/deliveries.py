"""The sources that are no event source mapping: they deliver to functions (asynchronously),
queues and topics what a service sends — SNS subscriptions (``sns/``), schedules
(``schedule/``), EventBridge rules with event patterns (``eventbridge/``) and S3 bucket
notifications (``s3/``). Each reads its plan from the template (``read_*``) and starts from the
same narrow ``SourceContext`` as the mappings (``factory.py``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from eventflow_local.eventsources.eventbridge.delivery import BusDelivery
from eventflow_local.eventsources.eventbridge.rules import RulePlan, plan_rules
from eventflow_local.eventsources.s3.plan import NotificationPlan, plan_notifications
from eventflow_local.eventsources.schedule.plan import SchedulePlan, plan_schedules
from eventflow_local.eventsources.schedule.source import ScheduleEventSource
from eventflow_local.eventsources.sns.delivery import SnsDeliveryError, SnsSubscriptionSource
from eventflow_local.eventsources.sns.subscriptions import SubscriptionPlan, plan_subscriptions
from eventflow_local.runtime.async_queue import invoke_async
from eventflow_local.runtime.functions import FunctionRuntime

if TYPE_CHECKING:
    from eventflow_local.eventsources.factory import SourceContext, StartedSources


def read_subscriptions(template: Any) -> SubscriptionPlan:
    """The template's SNS subscriptions (``sns/subscriptions.py``), for ``subscriptions``."""
    return plan_subscriptions(template)


def sns_sources(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext, found: StartedSources
) -> list[SnsSubscriptionSource]:
    """One delivery per SNS subscription (``sns/delivery.py``) whose endpoint is here: a queue
    of the emulator or a running function."""
    plan = context.subscriptions
    if plan is None or not (plan.subscriptions or plan.refused or plan.skipped):
        return []
    found.refused.extend(plan.refused)
    found.skipped.extend(plan.skipped)
    clients = context.destinations.clients
    if clients is None:
        found.skipped.extend(
            f"{spec.logical_id}: SNS subscriptions need the embedded emulator (moto server or "
            "LocalStack); not delivered"
            for spec in plan.subscriptions
        )
        return []
    out = []
    for spec in plan.subscriptions:
        runtime = runtimes.get(spec.function) if spec.function else None
        if spec.protocol == "lambda" and runtime is None:
            found.skipped.append(
                f"{spec.logical_id}: its function {spec.function} is not started; not delivered"
            )
            continue
        sqs = clients("sqs")
        try:
            source = SnsSubscriptionSource(
                spec,
                clients("sns"),
                sqs,
                region=context.region,
                invoker=runtime,
                log=context.log,
            )
        except SnsDeliveryError as exc:
            found.skipped.append(f"{exc}; not delivered")
            continue
        out.append(source)
    return out


def read_schedules(template: Any) -> SchedulePlan:
    """The template's rules and Scheduler schedules (``schedule/plan.py``), for ``schedules``."""
    return plan_schedules(template)


def schedule_sources(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext, found: StartedSources
) -> list[ScheduleEventSource]:
    """One source per schedule whose target functions run (a disabled one too: it is fired
    on demand); a schedule none of whose functions run is one line."""
    plan = context.schedules
    if plan is None:
        return []
    found.refused.extend(plan.refused)
    found.skipped.extend(plan.skipped)
    out = []
    for spec in plan.schedules:
        absent = sorted({t.function for t in spec.targets} - set(runtimes))
        if absent:
            found.skipped.append(
                f"{spec.logical_id}: its function {', '.join(absent)} is not started; "
                "its targets are not invoked"
            )
        targets = tuple(t for t in spec.targets if t.function in runtimes)
        if targets:
            running = replace(spec, targets=targets)
            out.append(ScheduleEventSource(running, runtimes, log=context.log))
    return out


def read_rules(template: Any) -> RulePlan:
    """The template's event-pattern rules (``eventbridge/rules.py``), for ``rules``."""
    return plan_rules(template)


def eventbridge_sources(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext, found: StartedSources
) -> list[BusDelivery]:
    """One delivery per bus with enabled rules (``eventbridge/delivery.py``); a Lambda target
    whose function is not started is one line and is left out."""
    plan = context.rules
    if plan is None:
        return []
    found.refused.extend(plan.refused)
    found.skipped.extend(plan.skipped)
    buses = plan.buses()
    clients = context.destinations.clients
    if buses and clients is None:
        found.skipped.extend(
            f"{rule.logical_id}: EventBridge rules need the embedded emulator (moto server or "
            "LocalStack); not delivered"
            for rules in buses.values()
            for rule in rules
        )
        return []
    out = []
    for bus, rules in buses.items():
        running = []
        for rule in rules:
            absent = sorted({t.function for t in rule.targets if t.function} - set(runtimes))
            if absent:
                found.skipped.append(
                    f"{rule.logical_id}: its function {', '.join(absent)} is not started; "
                    "not invoked"
                )
            targets = tuple(t for t in rule.targets if not t.function or t.function in runtimes)
            if targets:
                running.append(replace(rule, targets=targets))
        if not running:
            continue
        assert clients is not None
        sqs = clients("sqs")
        out.append(
            BusDelivery(
                bus,
                running,
                clients("events"),
                sqs,
                clients("sns"),
                runtimes,
                log=context.log,
            )
        )
    return out


def read_notifications(template: Any) -> NotificationPlan:
    """The template's buckets' notifications (``s3/plan.py``), for ``notifications``."""
    return plan_notifications(template)


def _submitter(runtime: FunctionRuntime, trigger: str) -> Callable[[dict[str, Any]], Any]:
    """Invoke ``runtime`` asynchronously (``runtime.async_queue.invoke_async``)."""
    return lambda event: invoke_async(runtime, event, trigger)


def s3_sources(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext, found: StartedSources
) -> list[Any]:
    """One delivery per bucket with notifications (``s3/delivery.py``), and a trigger line per
    function it notifies."""
    plan = context.notifications
    if plan is None or not (plan.buckets or plan.refused or plan.skipped):
        return []
    found.refused.extend(plan.refused)
    found.skipped.extend(plan.skipped)
    clients = context.destinations.clients
    if clients is None:
        found.skipped.extend(
            f"{b.bucket}: S3 notifications need the embedded emulator; not delivered"
            for b in plan.buckets
        )
        return []
    from eventflow_local.eventsources.s3.delivery import S3BucketSource, S3Trigger

    out: list[Any] = []
    for bucket in plan.buckets:
        submit = {}
        for spec in bucket.specs:
            if spec.kind != "lambda" or spec.function is None:
                continue
            runtime = runtimes.get(spec.function)
            if runtime is None:
                found.skipped.append(
                    f"{bucket.bucket}: its function {spec.function} is not started; not notified"
                )
                continue
            submit[spec.function] = _submitter(runtime, f"s3:{bucket.name}")
        sqs = clients("sqs")
        try:
            source = S3BucketSource(
                bucket,
                clients("s3"),
                sqs,
                clients("sns"),
                submit=submit,
                log=context.log,
            )
        except Exception as exc:  # a destination queue the emulator does not have
            found.skipped.append(
                f"{bucket.bucket}: NotificationConfiguration: {type(exc).__name__}: {exc}; "
                "not delivered"
            )
            continue
        out.append(source)
        out.extend(S3Trigger(s, bucket) for s in source.specs if s.kind == "lambda")
    return out
