"""The configuration of an SQS event source mapping, checked as Lambda checks it at
CreateEventSourceMapping.

Sources: "Lambda parameters for Amazon SQS event source mappings" (BatchSize default 10, at most
10,000 for a standard queue and 10 for a FIFO queue; MaximumBatchingWindowInSeconds default 0,
not supported for FIFO queues; FunctionResponseTypes ReportBatchItemFailures; FilterCriteria;
ScalingConfig; Enabled), "CreateEventSourceMapping" (a BatchSize over 10 needs a
MaximumBatchingWindowInSeconds of at least 1 s; ScalingConfig.MaximumConcurrency 2..1000) and
"Using Lambda with Amazon SQS" (an SQS mapping has no DestinationConfig, StartingPosition or
retry settings: failed messages return to the queue and its redrive policy decides).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.eventsources.config import EsmConfigError, _Reader
from eventflow_local.eventsources.filters import FilterError, compile_patterns, passes

ALLOWED = {
    "Queue",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "Enabled",
    "FilterCriteria",
    "FunctionResponseTypes",
    "ScalingConfig",
    "KmsKeyArn",
    "MetricsConfig",
    "ProvisionedPollerConfig",
}


@dataclass
class SqsConfig:
    function: str
    event: str
    queue_arn: str
    fifo: bool
    batch_size: int = 10
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    #: predicate over a record as the function receives it (its body parsed when JSON)
    filter: Callable[[Mapping[str, Any]], bool] | None = None
    max_concurrency: int | None = None
    enabled: bool = True
    not_emulated: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.function}.{self.event}"


def parse_sqs_config(function: str, event_name: str, props: Mapping[str, Any]) -> SqsConfig:
    """The checked configuration; ``EsmConfigError`` names what Lambda would refuse."""
    where = f"{function}.{event_name}"
    r = _Reader(where, props)
    unknown = sorted(set(props) - ALLOWED)
    if unknown:
        raise r.fail(unknown[0], "not a property of an SQS event source")
    queue = str(props.get("Queue") or "")
    if not queue.startswith("arn:") or ":sqs:" not in queue:
        raise r.fail("Queue", f"{queue!r} is not an SQS queue ARN")
    cfg = SqsConfig(function, event_name, queue, fifo=queue.endswith(".fifo"))
    cfg.enabled = r.boolean("Enabled", True)
    if not cfg.enabled:
        cfg.not_emulated.append(f"{where}: Enabled is false: not started (as on AWS)")
    cfg.batch_size = r.integer("BatchSize", 10, 1, 10 if cfg.fifo else 10_000)
    if "MaximumBatchingWindowInSeconds" in props:
        if cfg.fifo:
            raise r.fail("MaximumBatchingWindowInSeconds", "not supported for FIFO queues")
        cfg.batching_window = float(r.integer("MaximumBatchingWindowInSeconds", 0, 0, 300))
    if cfg.batch_size > 10 and cfg.batching_window < 1:
        raise r.fail(
            "BatchSize",
            f"{cfg.batch_size}: a batch size over 10 needs MaximumBatchingWindowInSeconds of "
            "at least 1",
        )
    types = props.get("FunctionResponseTypes") or []
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or set(types) - {"ReportBatchItemFailures"}:
        raise r.fail(
            "FunctionResponseTypes", f"{types!r}: the only value is ReportBatchItemFailures"
        )
    cfg.report_batch_item_failures = "ReportBatchItemFailures" in types
    try:
        patterns = compile_patterns(props.get("FilterCriteria"))
    except FilterError as exc:
        raise r.fail("FilterCriteria", str(exc)) from None
    if patterns:
        cfg.filter = lambda record: passes(list(patterns), record)
    scaling = props.get("ScalingConfig")
    if scaling is not None:
        if not isinstance(scaling, Mapping):
            raise r.fail("ScalingConfig", "expected {MaximumConcurrency: 2..1000}")
        cfg.max_concurrency = _Reader(where, scaling).integer("MaximumConcurrency", 1000, 2, 1000)
        cfg.not_emulated.append(
            f"{where}.ScalingConfig: batches of the mapping run one at a time locally "
            f"(MaximumConcurrency {cfg.max_concurrency} is an upper bound that is never reached)"
        )
    if "ProvisionedPollerConfig" in props:
        cfg.not_emulated.append(f"{where}.ProvisionedPollerConfig: one local poller per mapping")
    if "KmsKeyArn" in props:
        cfg.not_emulated.append(f"{where}.KmsKeyArn: filter criteria are not encrypted locally")
    if "MetricsConfig" in props:
        cfg.not_emulated.append(f"{where}.MetricsConfig: no CloudWatch metrics locally")
    return cfg


__all__ = ["EsmConfigError", "SqsConfig", "parse_sqs_config"]
