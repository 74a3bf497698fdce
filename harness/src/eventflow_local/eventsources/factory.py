"""The event sources of the running functions: one per Kafka, DynamoDB-stream and SQS event, one
per schedule (``schedule/plan.py``: the template's rules and Scheduler schedules), one per SNS
subscription (``sns/``: to a function or a queue), one per bucket with notifications (``s3/``: to
functions, queues and topics).

``start_event_sources(runtimes, context)`` builds and starts them from narrow inputs (the broker,
the region, the state dir, a DynamoDB Streams client, the OnFailure destinations, which hold the
embedded emulator's SQS client) and returns
what it started and what it found: an event whose configuration AWS would refuse at deploy
(``EsmConfigError``) is ``refused`` and does not start; what is not emulated (a property, a
destination type, an event type) is ``skipped``; the rest starts either way. ``Api`` and
``HttpApi`` events are the API server's. Nothing here reads or writes the stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eventflow_local.aws import KAFKA_EVENT_TYPES, function_arn, local_msk_arn
from eventflow_local.eventsources.config import EsmConfigError, parse_config
from eventflow_local.eventsources.destinations import DestinationError, FailureDestinations
from eventflow_local.eventsources.dynamodb.mapping import DynamoStreamEventSource
from eventflow_local.eventsources.kafka.mapping import EsmOptions, KafkaEventSourceMapping
from eventflow_local.eventsources.s3.plan import NotificationPlan, plan_notifications
from eventflow_local.eventsources.schedule.plan import SchedulePlan, plan_schedules
from eventflow_local.eventsources.schedule.source import ScheduleEventSource
from eventflow_local.eventsources.sns.delivery import SnsDeliveryError, SnsSubscriptionSource
from eventflow_local.eventsources.sns.subscriptions import SubscriptionPlan, plan_subscriptions
from eventflow_local.eventsources.sqs.poller import SqsEventSource, SqsSourceError
from eventflow_local.runtime.environment import function_name
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.template.specs import EventSpec


@dataclass(frozen=True)
class SourceContext:
    """What the event sources need of the running stack."""

    bootstrap_servers: str
    region: str
    state_dir: Path
    #: a DynamoDB Streams client of the stack's DynamoDB (made when a stream source starts)
    streams_client: Callable[[], Any]
    destinations: FailureDestinations
    log: Callable[[str], None]
    #: seconds between GetRecords calls of the DynamoDB stream pollers
    stream_poll_interval: float
    #: the template's schedules (``schedule/plan.py``)
    schedules: SchedulePlan | None = None
    #: the template's SNS subscriptions (``sns/subscriptions.py``)
    subscriptions: SubscriptionPlan | None = None
    #: the template's buckets' notification configurations (``s3/plan.py``)
    notifications: NotificationPlan | None = None


@dataclass
class StartedSources:
    """The started sources (stop them in reverse order) and the start-up findings."""

    sources: list[Any] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def on_failure(context: SourceContext, event: EventSpec) -> Any:
    """The event's resolved OnFailure destination (None when it has none)."""
    target = ((event.properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
        "Destination"
    )
    if not target:
        return None
    return context.destinations.resolve(
        str(target),
        bootstrap_servers=context.bootstrap_servers,
        source_topics=[str(t) for t in event.properties.get("Topics", [])],
    )


def stream_source(
    context: SourceContext,
    logical_id: str,
    event: EventSpec,
    runtime: FunctionRuntime,
    arn: str,
) -> Any:
    """The Kafka or DynamoDB stream source of ``event`` (EsmConfigError: AWS refuses it)."""
    if event.type == "DynamoDB":
        parse_config(logical_id, event.name, event.type, event.properties)  # refuse first
        return DynamoStreamEventSource(
            logical_id,
            event,
            runtime,
            context.streams_client(),
            stream_arn=str(event.properties.get("Stream")),
            state_dir=context.state_dir,
            destination=on_failure(context, event),
            function_arn=arn,
            log=context.log,
            poll_interval=context.stream_poll_interval,
        )
    self_managed = event.type == "SelfManagedKafka"
    return KafkaEventSourceMapping(
        logical_id,
        event,
        runtime,
        context.bootstrap_servers,
        event_source_arn=None
        if self_managed
        else str(event.properties.get("Stream") or local_msk_arn(context.region)),
        self_managed=self_managed,
        destinations=context.destinations,
        log=context.log,
        # the runtime logs one line per invocation; the mapping adds failures
        options=EsmOptions(log_invocations=False, region=context.region),
    )


def _source_for(
    context: SourceContext,
    found: StartedSources,
    logical_id: str,
    runtime: FunctionRuntime,
    event: EventSpec,
) -> Any:
    """The started-to-be source of one event, or None (refused, skipped, or the API's)."""
    where = f"{logical_id}.{event.name}"
    if event.type in KAFKA_EVENT_TYPES or event.type == "DynamoDB":
        arn = function_arn(function_name(runtime.spec), context.region)
        try:
            source = stream_source(context, logical_id, event, runtime, arn)
        except EsmConfigError as exc:
            found.refused.append(str(exc))
            return None
        except DestinationError as exc:
            found.skipped.append(f"{where}: DestinationConfig: {exc}; not started")
            return None
        found.skipped.extend(source.config.not_emulated)
        return source if source.config.enabled else None
    if event.type == "SQS":
        return _sqs_source(context, found, logical_id, runtime, event)
    found.skipped.append(f"{where}: event type {event.type} is not emulated")
    return None


def _sqs_source(
    context: SourceContext,
    found: StartedSources,
    logical_id: str,
    runtime: FunctionRuntime,
    event: EventSpec,
) -> SqsEventSource | None:
    """The poller of an SQS event (eventsources/sqs/), or None (refused, disabled, no queue)."""
    where = f"{logical_id}.{event.name}"
    make_client = context.destinations.sqs_client  # the emulator's SQS (None: there is none)
    if make_client is None:
        found.skipped.append(
            f"{where}: event type SQS needs the embedded emulator's queues (moto server or "
            "LocalStack); not started"
        )
        return None
    try:
        source = SqsEventSource(
            logical_id,
            event,
            runtime,
            make_client(),
            region=context.region,
            log=context.log,
        )
    except EsmConfigError as exc:
        found.refused.append(str(exc))
        return None
    except SqsSourceError as exc:
        found.skipped.append(f"{exc}; not started")
        return None
    found.skipped.extend(source.config.not_emulated)
    return source if source.config.enabled else None


def start_event_sources(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext
) -> StartedSources:
    """Start the event sources of every running function; if one fails to start, those
    already started are stopped before the error goes up."""
    found = StartedSources()
    try:
        for logical_id, runtime in runtimes.items():
            for event in runtime.spec.events:
                source = _source_for(context, found, logical_id, runtime, event)
                if source is not None:
                    source.start()
                    found.sources.append(source)
        more: list[Any] = [
            *schedule_sources(runtimes, context, found),
            *sns_sources(runtimes, context, found),
            *s3_sources(runtimes, context, found),
        ]
        for source in more:
            source.start()
            found.sources.append(source)
    except BaseException:
        for source in reversed(found.sources):
            source.stop()
        raise
    return found


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
    make_client = context.destinations.sqs_client
    if make_client is None:
        found.skipped.extend(
            f"{spec.logical_id}: SNS subscriptions need the embedded emulator (moto server or "
            "LocalStack); not delivered"
            for spec in plan.subscriptions
        )
        return []
    from eventflow_local.services.sns import client_beside

    out = []
    for spec in plan.subscriptions:
        runtime = runtimes.get(spec.function) if spec.function else None
        if spec.protocol == "lambda" and runtime is None:
            found.skipped.append(
                f"{spec.logical_id}: its function {spec.function} is not started; not delivered"
            )
            continue
        sqs = make_client()

        def invoke(event: dict[str, Any], runtime: Any = runtime) -> Any:
            return runtime.invoke(event, trigger="sns")  # asynchronous: on a thread of its own

        try:
            source = SnsSubscriptionSource(
                spec,
                client_beside(sqs, "sns"),
                sqs,
                region=context.region,
                invoke=invoke if runtime is not None else None,
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


def read_notifications(template: Any) -> NotificationPlan:
    """The template's buckets' notifications (``s3/plan.py``), for ``notifications``."""
    return plan_notifications(template)


def _submitter(runtime: FunctionRuntime, trigger: str) -> Callable[[dict[str, Any]], Any]:
    """Invoke ``runtime`` asynchronously, through its event queue when the Lambda API serves
    one (Lambda's retries and destinations), else on a thread of its own."""
    import threading

    from eventflow_local.runtime.async_queue import queue_of

    def submit(event: dict[str, Any]) -> None:
        queue = queue_of(runtime)
        if queue is not None:
            queue.submit(event, trigger)
            return
        threading.Thread(
            target=runtime.invoke, args=(event,), kwargs={"trigger": trigger}, daemon=True
        ).start()

    return submit


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
    make_client = context.destinations.sqs_client
    if make_client is None:
        found.skipped.extend(
            f"{b.bucket}: S3 notifications need the embedded emulator; not delivered"
            for b in plan.buckets
        )
        return []
    from eventflow_local.eventsources.s3.delivery import S3BucketSource, S3Trigger
    from eventflow_local.services.sns import client_beside

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
        sqs = make_client()
        try:
            source = S3BucketSource(
                bucket,
                client_beside(sqs, "s3"),
                sqs,
                client_beside(sqs, "sns"),
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
