"""The event sources of the running functions: one per Kafka, DynamoDB-stream, Kinesis and SQS
event, one per schedule (``schedule/plan.py``: the template's rules and Scheduler schedules), one
per SNS subscription (``sns/``: to a function or a queue), one per event bus with event-pattern
rules (``eventbridge/``: to functions, queues and topics), one per bucket with notifications
(``s3/``: to functions, queues and topics).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventflow_local.aws import KAFKA_EVENT_TYPES, function_arn, local_msk_arn
from eventflow_local.eventsources.config import EsmConfigError, parse_config
from eventflow_local.eventsources.deliveries import (
    eventbridge_sources,
    s3_sources,
    schedule_sources,
    sns_sources,
)
from eventflow_local.eventsources.destinations import DestinationError, FailureDestinations
from eventflow_local.eventsources.dynamodb.mapping import DynamoStreamEventSource
from eventflow_local.eventsources.eventbridge.rules import RulePlan
from eventflow_local.eventsources.kafka.mapping import EsmOptions, KafkaEventSourceMapping
from eventflow_local.eventsources.kinesis.mapping import KinesisEventSource
from eventflow_local.eventsources.s3.plan import NotificationPlan
from eventflow_local.eventsources.schedule.plan import SchedulePlan
from eventflow_local.eventsources.sns.subscriptions import SubscriptionPlan
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
    #: the template's event-pattern rules (``eventbridge/rules.py``)
    rules: RulePlan | None = None
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
        return _checked(
            found, where, lambda: stream_source(context, logical_id, event, runtime, arn)
        )
    if event.type == "SQS":
        return _sqs_source(context, found, logical_id, runtime, event)
    if event.type == "Kinesis":
        return _kinesis_source(context, found, logical_id, runtime, event)
    found.skipped.append(f"{where}: event type {event.type} is not emulated")
    return None


def _checked(found: StartedSources, where: str, build: Callable[[], Any]) -> Any:
    """The source ``build`` makes, or None: a configuration AWS refuses is ``refused``; a
    destination or queue that is not there, and what is not emulated, are ``skipped``; a
    disabled mapping does not start."""
    try:
        source = build()
    except EsmConfigError as exc:
        found.refused.append(str(exc))
        return None
    except DestinationError as exc:
        found.skipped.append(f"{where}: DestinationConfig: {exc}; not started")
        return None
    except SqsSourceError as exc:
        found.skipped.append(f"{exc}; not started")
        return None
    found.skipped.extend(source.config.not_emulated)
    return source if source.config.enabled else None


def _sqs_source(
    context: SourceContext,
    found: StartedSources,
    logical_id: str,
    runtime: FunctionRuntime,
    event: EventSpec,
) -> SqsEventSource | None:
    """The poller of an SQS event (eventsources/sqs/), or None (refused, disabled, no queue)."""
    where = f"{logical_id}.{event.name}"
    clients = context.destinations.clients  # the emulator's services (None: there are none)
    if clients is None:
        found.skipped.append(
            f"{where}: event type SQS needs the embedded emulator's queues (moto server or "
            "LocalStack); not started"
        )
        return None
    sqs = clients("sqs")
    return _checked(
        found,
        where,
        lambda: SqsEventSource(
            logical_id, event, runtime, sqs, region=context.region, log=context.log
        ),
    )


def _kinesis_source(
    context: SourceContext,
    found: StartedSources,
    logical_id: str,
    runtime: FunctionRuntime,
    event: EventSpec,
) -> KinesisEventSource | None:
    """The poller of a Kinesis event (eventsources/kinesis/), or None (refused, disabled, an
    enhanced fan-out consumer, no emulator)."""
    where = f"{logical_id}.{event.name}"
    stream = str(event.properties.get("Stream") or "")
    if "/consumer/" in stream:
        found.skipped.append(
            f"{where}: an enhanced fan-out consumer (AWS::Kinesis::StreamConsumer) is not "
            "emulated; not started"
        )
        return None
    clients = context.destinations.clients  # the emulator's services (None: there are none)
    if clients is None:
        found.skipped.append(
            f"{where}: event type Kinesis needs the embedded emulator's streams (moto server or "
            "LocalStack); not started"
        )
        return None
    kinesis = clients("kinesis")
    return _checked(
        found,
        where,
        lambda: KinesisEventSource(
            logical_id,
            event,
            runtime,
            kinesis,
            stream_arn=stream,
            state_dir=context.state_dir,
            destination=on_failure(context, event),
            function_arn=function_arn(function_name(runtime.spec), context.region),
            log=context.log,
            poll_interval=context.stream_poll_interval,
        ),
    )


def start_event_sources(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext
) -> StartedSources:
    """Start the event sources of every running function; if one fails to start, those
    already started are stopped before the error goes up."""
    found = StartedSources()
    try:
        for logical_id, runtime in runtimes.items():
            for event in runtime.spec.events:
                start_mapping(context, found, logical_id, runtime, event)
        _start_deliveries(runtimes, context, found)
    except BaseException:
        for source in reversed(found.sources):
            source.stop()
        raise
    return found


def is_mapping(source: Any) -> bool:
    """A source ``start_mapping`` makes (one event of one function), not a delivery (schedules,
    subscriptions, rules and notifications, some of which also name an event)."""
    return isinstance(
        source,
        KafkaEventSourceMapping | DynamoStreamEventSource | SqsEventSource | KinesisEventSource,
    )


def start_mapping(
    context: SourceContext,
    found: StartedSources,
    logical_id: str,
    runtime: FunctionRuntime,
    event: EventSpec,
    *,
    before: Callable[[Any], None] | None = None,
) -> Any:
    """Start the source of one of a function's events (a mapping: Kafka, DynamoDB or Kinesis
    stream, SQS) into ``found``; ``before``: called with the source before it starts (a reload
    hands it its predecessor's consumer group). None when it does not start."""
    source = _source_for(context, found, logical_id, runtime, event)
    if source is not None:
        if before is not None:
            before(source)
        source.start()
        found.sources.append(source)
    return source


def start_deliveries(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext
) -> StartedSources:
    """Start the schedules, SNS subscriptions, event-bus rules and bucket notifications of the
    running functions (a reload starts them again when they change)."""
    found = StartedSources()
    try:
        _start_deliveries(runtimes, context, found)
    except BaseException:
        for source in reversed(found.sources):
            source.stop()
        raise
    return found


def _start_deliveries(
    runtimes: Mapping[str, FunctionRuntime], context: SourceContext, found: StartedSources
) -> None:
    more: list[Any] = [
        *schedule_sources(runtimes, context, found),
        *sns_sources(runtimes, context, found),
        *eventbridge_sources(runtimes, context, found),
        *s3_sources(runtimes, context, found),
    ]
    for source in more:
        source.start()
        found.sources.append(source)
