"""The stack's event sources: one per Kafka, DynamoDB-stream and Schedule event of each function.

``start_event_sources(stack)`` builds and starts them on a started ``Stack``. A Kafka or stream
event whose configuration AWS would refuse at deploy (``EsmConfigError``) goes to
``stack.refused`` and does not start; what is not emulated (a property, a destination type, an
event type) goes to ``stack.skipped``; the rest of the stack starts either way. ``Api`` and
``HttpApi`` events are the API server's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventflow_local.eventsources.config import EsmConfigError, parse_config
from eventflow_local.eventsources.destinations import DestinationError, FailureDestinations
from eventflow_local.eventsources.dynamodb.mapping import DynamoStreamEventSource
from eventflow_local.eventsources.kafka.mapping import EsmOptions, KafkaEventSourceMapping
from eventflow_local.eventsources.schedule.source import (
    ScheduleError,
    ScheduleEventSource,
    is_enabled,
)
from eventflow_local.runtime.environment import function_name
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.template.sam import LOCAL_ACCOUNT, EventSpec

if TYPE_CHECKING:
    from eventflow_local.stack import Stack

KAFKA_EVENT_TYPES = ("MSK", "SelfManagedKafka")
LOCAL_MSK_ARN = f"arn:aws:kafka:us-east-1:{LOCAL_ACCOUNT}:cluster/eventflow-local/00000000-0000-0000-0000-000000000000-1"


def destinations(stack: Stack) -> FailureDestinations:
    """The stack's OnFailure destinations (made on first use)."""
    if stack.destinations is None:
        stack.destinations = FailureDestinations(stack.state_dir)
    return stack.destinations


def on_failure(stack: Stack, event: EventSpec) -> Any:
    """The event's resolved OnFailure destination (None when it has none)."""
    target = ((event.properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
        "Destination"
    )
    if not target:
        return None
    return destinations(stack).resolve(
        str(target),
        bootstrap_servers=stack.bootstrap_servers,
        source_topics=[str(t) for t in event.properties.get("Topics", [])],
    )


def stream_source(
    stack: Stack, logical_id: str, event: EventSpec, runtime: FunctionRuntime, function_arn: str
) -> Any:
    """The Kafka or DynamoDB stream source of ``event`` (EsmConfigError: AWS refuses it)."""
    assert stack.dynamo is not None
    if event.type == "DynamoDB":
        parse_config(logical_id, event.name, event.type, event.properties)  # refuse first
        return DynamoStreamEventSource(
            logical_id,
            event,
            runtime,
            stack.dynamo.streams(),
            stream_arn=str(event.properties.get("Stream")),
            state_dir=stack.state_dir,
            destination=on_failure(stack, event),
            function_arn=function_arn,
            log=stack.log,
            poll_interval=stack.stream_poll_interval,
        )
    self_managed = event.type == "SelfManagedKafka"
    return KafkaEventSourceMapping(
        logical_id,
        event,
        runtime,
        stack.bootstrap_servers,
        event_source_arn=None
        if self_managed
        else str(event.properties.get("Stream") or LOCAL_MSK_ARN),
        self_managed=self_managed,
        destinations=destinations(stack),
        log=stack.log,
        # the runtime logs one line per invocation; the mapping adds failures
        options=EsmOptions(log_invocations=False, region=stack.region),
    )


def _source_for(stack: Stack, logical_id: str, runtime: FunctionRuntime, event: EventSpec) -> Any:
    """The started-to-be source of one event, or None (refused, skipped, or the API's)."""
    where = f"{logical_id}.{event.name}"
    if event.type in KAFKA_EVENT_TYPES or event.type == "DynamoDB":
        arn = (
            f"arn:aws:lambda:{stack.region}:{LOCAL_ACCOUNT}:function:{function_name(runtime.spec)}"
        )
        try:
            source = stream_source(stack, logical_id, event, runtime, arn)
        except EsmConfigError as exc:
            stack.refused.append(str(exc))
            return None
        except DestinationError as exc:
            stack.skipped.append(f"{where}: DestinationConfig: {exc}; not started")
            return None
        stack.skipped.extend(source.config.not_emulated)
        return source if source.config.enabled else None
    if event.type in ("Schedule", "ScheduleV2"):
        if not is_enabled(event):
            stack.skipped.append(f"{where}: schedule disabled in the template")
            return None
        try:
            return ScheduleEventSource(
                logical_id, event, runtime, region=stack.region, log=stack.log
            )
        except ScheduleError as exc:
            stack.skipped.append(f"{where}: {exc}")
            return None
    if event.type not in ("Api", "HttpApi"):  # those are served by the API server
        stack.skipped.append(f"{where}: event type {event.type} is not emulated")
    return None


def start_event_sources(stack: Stack) -> None:
    """Start the event sources of every running function; they join ``stack.sources``."""
    assert stack.template is not None and stack.dynamo is not None
    for logical_id, runtime in stack.runtimes.items():
        for event in runtime.spec.events:
            source = _source_for(stack, logical_id, runtime, event)
            if source is not None:
                source.start()
                stack.sources.append(source)
