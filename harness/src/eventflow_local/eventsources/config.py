"""The configuration of an event source mapping, parsed once from a SAM event's properties.

Validation follows AWS's pages "CreateEventSourceMapping" (types and ranges), "All Amazon MSK
event source configuration parameters in Lambda", "All self-managed Apache Kafka event source
configuration parameters in Lambda", "Configuring error handling controls for Kafka event
sources" and "Using AWS Lambda with Amazon DynamoDB" (which property applies to which source):

* BatchSize 1..10000 (both); MaximumBatchingWindowInSeconds 0..300 whole seconds (default 0.5 s
  for Kafka, 0 for streams); MaximumRetryAttempts -1..10000; MaximumRecordAgeInSeconds -1 or
  60..604800; ParallelizationFactor 1..10 and TumblingWindowInSeconds 0..900 for streams only;
  Topics (exactly one) and ConsumerGroupId for Kafka only; StartingPosition TRIM_HORIZON | LATEST
  (| AT_TIMESTAMP for Kafka and Kinesis).
* Values that come from template parameters are strings: ``"false"`` is false, ``"10"`` is 10;
  a string that is not a number (or not ``true``/``false``) is an error, as CloudFormation's type
  check makes it.
* Kafka's error-handling controls (MaximumRetryAttempts, MaximumRecordAgeInSeconds,
  BisectBatchOnFunctionError, ReportBatchItemFailures) are configured "in provisioned mode"
  (``ProvisionedPollerConfig``); without it the mapping is refused, naming the property.

An invalid configuration raises ``EsmConfigError`` naming function, event, property and AWS's
reason. What the harness does not emulate is listed in ``SourceConfig.not_emulated`` (the owner
prints it once); ``Enabled: false`` gives ``enabled=False``: the mapping is not started, as on AWS.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.aws import KAFKA_EVENT_TYPES
from eventflow_local.eventsources.filters import FilterError, compile_filters, kafka_metadata_keys

__all__ = [
    "STREAM_TYPES",
    "EsmConfigError",
    "SourceConfig",
    "parse_config",
]

STREAM_TYPES = ("DynamoDB", "Kinesis")
RETRIES_WITH_DESTINATION = 10  # infinite retries with an OnFailure destination: at most 10

_COMMON = {
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "StartingPosition",
    "StartingPositionTimestamp",
    "FilterCriteria",
    "DestinationConfig",
    "FunctionResponseTypes",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "Enabled",
    "KmsKeyArn",
    "MetricsConfig",
}
_KAFKA = _COMMON | {
    "Topics",
    "ConsumerGroupId",
    "SourceAccessConfigurations",
    "ProvisionedPollerConfig",
    "SchemaRegistryConfig",
    "AmazonManagedKafkaEventSourceConfig",
    "SelfManagedKafkaEventSourceConfig",
    "LoggingConfig",
}
ALLOWED = {
    "MSK": _KAFKA | {"Stream"},
    "SelfManagedKafka": _KAFKA | {"KafkaBootstrapServers"},
    "DynamoDB": _COMMON | {"Stream", "ParallelizationFactor", "TumblingWindowInSeconds"},
    "Kinesis": _COMMON | {"Stream", "ParallelizationFactor", "TumblingWindowInSeconds"},
}
KAFKA_ERROR_CONTROLS = (
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
)


class EsmConfigError(ValueError):
    """A configuration AWS refuses at deploy. ``str()`` is "<Function>.<Event>: <Property>: <why>"."""

    def __init__(self, where: str, prop: str, reason: str) -> None:
        self.where, self.prop, self.reason = where, prop, reason
        super().__init__(f"{where}: {prop}: {reason}" if prop else f"{where}: {reason}")


@dataclass
class SourceConfig:
    """Everything a source needs, validated."""

    function: str
    event: str
    type: str
    batch_size: int = 100
    batching_window: float = 0.0
    starting_position: str = "TRIM_HORIZON"
    starting_timestamp: float | None = None
    max_retries: int = -1
    max_record_age: int = -1
    bisect: bool = False
    report_batch_item_failures: bool = False
    filter: Callable[..., bool] | None = None
    #: Kafka: the record metadata keys the filter patterns name (the filter then needs them)
    filter_metadata_keys: list[str] = field(default_factory=list)
    on_failure: str | None = None
    enabled: bool = True
    # Kafka
    topics: tuple[str, ...] = ()
    group_id: str = ""
    stream: str | None = None
    # streams
    parallelization_factor: int = 1
    tumbling_window: int = 0
    not_emulated: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.function}.{self.event}"


class _Reader:
    def __init__(self, where: str, props: Mapping[str, Any]) -> None:
        self.where = where
        self.props = props

    def fail(self, prop: str, reason: str) -> EsmConfigError:
        return EsmConfigError(self.where, prop, reason)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.props.get(name, default)
        value: Any = raw
        if isinstance(raw, str):
            text = raw.strip()
            try:
                value = int(text)
            except ValueError:
                raise self.fail(name, f"expected an integer, got {raw!r}") from None
        elif isinstance(raw, float) and raw.is_integer():
            value = int(raw)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"expected an integer, got {raw!r}")
        if not lo <= value <= hi:
            raise self.fail(name, f"{value} is out of range: minimum {lo}, maximum {hi}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.props.get(name, default)
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise self.fail(name, f"expected a boolean (true or false), got {raw!r}")


def parse_config(
    function: str, event_name: str, event_type: str, props: Mapping[str, Any]
) -> SourceConfig:
    """Validate one event's properties as Lambda does at CreateEventSourceMapping."""
    where = f"{function}.{event_name}"
    if event_type not in ALLOWED:
        raise EsmConfigError(where, "Type", f"{event_type} is not a stream or Kafka event source")
    r = _Reader(where, props)
    kafka = event_type in KAFKA_EVENT_TYPES
    unknown = sorted(set(props) - ALLOWED[event_type])
    if unknown:
        raise r.fail(unknown[0], f"not a property of a {event_type} event source")
    cfg = SourceConfig(function=function, event=event_name, type=event_type)
    cfg.enabled = r.boolean("Enabled", True)
    if not cfg.enabled:
        cfg.not_emulated.append(f"{where}: Enabled is false: not started (as on AWS)")
    cfg.batch_size = r.integer("BatchSize", 100, 1, 10_000)
    if "MaximumBatchingWindowInSeconds" in props:
        cfg.batching_window = float(r.integer("MaximumBatchingWindowInSeconds", 0, 0, 300))
    else:
        cfg.batching_window = 0.5 if kafka else 0.0
    timestamps = kafka or event_type == "Kinesis"  # "Kinesis event source mapping parameters"
    positions = ("TRIM_HORIZON", "LATEST") + (("AT_TIMESTAMP",) if timestamps else ())
    position = props.get("StartingPosition", "TRIM_HORIZON")
    if not isinstance(position, str) or position not in positions:
        raise r.fail("StartingPosition", f"{position!r} is not one of {', '.join(positions)}")
    cfg.starting_position = position
    if position == "AT_TIMESTAMP":
        if props.get("StartingPositionTimestamp") is None:
            raise r.fail("StartingPositionTimestamp", "required with AT_TIMESTAMP")
        try:
            cfg.starting_timestamp = float(props["StartingPositionTimestamp"])
        except (TypeError, ValueError):
            raise r.fail("StartingPositionTimestamp", "expected seconds since the epoch") from None
    elif "StartingPositionTimestamp" in props:
        raise r.fail("StartingPositionTimestamp", "only applies with StartingPosition AT_TIMESTAMP")

    types = props.get("FunctionResponseTypes") or []
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or set(types) - {"ReportBatchItemFailures"}:
        raise r.fail(
            "FunctionResponseTypes", f"{types!r}: the only value is ReportBatchItemFailures"
        )
    cfg.report_batch_item_failures = "ReportBatchItemFailures" in types
    cfg.max_retries = r.integer("MaximumRetryAttempts", -1, -1, 10_000)
    age = r.integer("MaximumRecordAgeInSeconds", -1, -1, 604_800)
    if 0 <= age < 60:
        raise r.fail("MaximumRecordAgeInSeconds", f"{age}: minimum 60 (or -1 for infinite)")
    cfg.max_record_age = age
    cfg.bisect = r.boolean("BisectBatchOnFunctionError", False)

    try:
        cfg.filter = compile_filters(
            props.get("FilterCriteria"), "kafka" if kafka else event_type.lower()
        )
    except FilterError as exc:
        raise r.fail("FilterCriteria", str(exc)) from None
    metadata_keys = kafka_metadata_keys(props.get("FilterCriteria")) if kafka else []
    cfg.filter_metadata_keys = metadata_keys
    if metadata_keys:
        cfg.not_emulated.append(
            f"{where}.FilterCriteria: AWS documents Kafka filtering on 'value' only; the "
            f"pattern's {', '.join(metadata_keys)} is matched against the record's metadata"
        )

    dest = props.get("DestinationConfig")
    if dest is not None:
        on_failure = (dest.get("OnFailure") or {}) if isinstance(dest, Mapping) else None
        if not isinstance(on_failure, Mapping):
            raise r.fail("DestinationConfig", "expected {OnFailure: {Destination: <arn>}}")
        target = on_failure.get("Destination")
        if target is not None and (not isinstance(target, str) or not target):
            raise r.fail("DestinationConfig", f"OnFailure.Destination {target!r} is not an ARN")
        cfg.on_failure = target or None
    if "KmsKeyArn" in props:
        cfg.not_emulated.append(f"{where}.KmsKeyArn: filter criteria are not encrypted locally")
    if "MetricsConfig" in props:
        cfg.not_emulated.append(f"{where}.MetricsConfig: no CloudWatch metrics locally")
    if kafka:
        _kafka(cfg, r, props)
    else:
        _stream(cfg, r, props)
    if cfg.on_failure and cfg.max_retries == -1:
        cfg.max_retries = RETRIES_WITH_DESTINATION
    return cfg


def _kafka(cfg: SourceConfig, r: _Reader, props: Mapping[str, Any]) -> None:
    where = cfg.where
    topics = props.get("Topics")
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
        raise r.fail("Topics", "a list with the name of one Kafka topic is required")
    if len(topics) != 1:
        raise r.fail("Topics", f"{len(topics)} topics: a Kafka event source takes exactly one")
    cfg.topics = tuple(topics)
    group = props.get("ConsumerGroupId")
    for nested in ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig"):
        if group is None and isinstance(props.get(nested), Mapping):
            group = props[nested].get("ConsumerGroupId")
    if group is not None and (not isinstance(group, str) or not 1 <= len(group) <= 200):
        raise r.fail("ConsumerGroupId", "a string of 1 to 200 characters")
    cfg.group_id = group or str(uuid.uuid4())
    if cfg.type == "MSK":
        stream = props.get("Stream")
        if not isinstance(stream, str) or not stream:
            raise r.fail("Stream", "the MSK cluster ARN is required")
        cfg.stream = stream
    elif not props.get("KafkaBootstrapServers"):
        raise r.fail("KafkaBootstrapServers", "the brokers of a self-managed cluster are required")

    provisioned = props.get("ProvisionedPollerConfig")
    if provisioned is not None:
        if not isinstance(provisioned, Mapping):
            raise r.fail("ProvisionedPollerConfig", "expected {MinimumPollers, MaximumPollers}")
        pr = _Reader(where, provisioned)
        lo = pr.integer("MinimumPollers", 1, 1, 200)
        hi = pr.integer("MaximumPollers", 200, 1, 2000)
        if lo > hi:
            raise r.fail("ProvisionedPollerConfig", "MinimumPollers exceeds MaximumPollers")
        cfg.not_emulated.append(
            f"{where}.ProvisionedPollerConfig: one poller locally (MinimumPollers {lo}, "
            f"MaximumPollers {hi} not emulated)"
        )
    else:
        used = [p for p in KAFKA_ERROR_CONTROLS if p in props]
        if cfg.report_batch_item_failures:
            used.append("FunctionResponseTypes")
        if used:
            raise r.fail(
                used[0],
                "Kafka error handling controls (MaximumRetryAttempts, MaximumRecordAgeInSeconds, "
                "BisectBatchOnFunctionError, ReportBatchItemFailures) require provisioned mode: "
                "add ProvisionedPollerConfig",
            )
    if props.get("SourceAccessConfigurations"):
        cfg.not_emulated.append(
            f"{where}.SourceAccessConfigurations: the local broker takes no authentication"
        )
    if props.get("SchemaRegistryConfig"):
        cfg.not_emulated.append(
            f"{where}.SchemaRegistryConfig: records are delivered as their raw bytes"
        )


def _stream(cfg: SourceConfig, r: _Reader, props: Mapping[str, Any]) -> None:
    where = cfg.where
    stream = props.get("Stream")
    if not isinstance(stream, str) or not stream:
        raise r.fail("Stream", "the stream's ARN is required")
    cfg.stream = stream
    if "StartingPosition" not in props:
        raise r.fail("StartingPosition", f"required for a {cfg.type} stream event source")
    cfg.parallelization_factor = r.integer("ParallelizationFactor", 1, 1, 10)
    if cfg.parallelization_factor > 1:
        cfg.not_emulated.append(
            f"{where}.ParallelizationFactor: {cfg.parallelization_factor} concurrent batches per "
            "shard are not emulated (one batch per shard at a time)"
        )
    cfg.tumbling_window = r.integer("TumblingWindowInSeconds", 0, 0, 900)
    if cfg.tumbling_window:
        cfg.not_emulated.append(
            f"{where}.TumblingWindowInSeconds: tumbling windows (state across invocations) are "
            "not emulated; the mapping is not started"
        )
        cfg.enabled = False
