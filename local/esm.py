"""The Lambda Kafka event source mapping (MSK and self-managed Apache Kafka), emulated locally.

``KafkaEventSourceMapping`` reads the topics of one ``MSK``/``SelfManagedKafka`` event of the SAM
template from a real Kafka broker and invokes the function through an ``Invoker`` with events shaped
exactly as Lambda delivers them (``local.events.kafka_event``). It honours the event's properties:

* ``Topics``; ``ConsumerGroupId`` (default: a unique id per mapping); ``StartingPosition``
  ``TRIM_HORIZON`` | ``LATEST`` | ``AT_TIMESTAMP`` (+ ``StartingPositionTimestamp``, seconds), used
  only for partitions the group has no committed offset for. Partitions that appear after the
  mapping started are read from their beginning.
* ``BatchSize`` (default 100) and ``MaximumBatchingWindowInSeconds`` (default 0.5): a batch is
  invoked when it is full, when the window (counted from the first buffered record) expires, or
  when one more record would push the event past 6 MB.
* ``FilterCriteria`` on the ``value`` key (Lambda event filtering rules, see ``compile_filters``);
  records filtered out are never delivered and their offsets are committed.
* Offsets are committed under the consumer group only once every record before them has been
  handled (function success, filtered out, or sent to the failure destination).
* A failed invocation (the handler raised or timed out, the invoker reported ``ok=False``, or a
  ``ReportBatchItemFailures`` response is invalid) retries the same batch, whole and in order, with
  a bounded exponential back-off; that partition waits (it is taken out of the consumer's
  assignment, and put back at its next offset once the batch is settled) while every other
  partition goes on. Limits: ``MaximumRetryAttempts`` (default -1 = forever; with an OnFailure
  destination and -1, at most 10 retries as Lambda does), ``MaximumRecordAgeInSeconds`` (records
  older than that are not sent to the function again), ``BisectBatchOnFunctionError`` (a failing
  batch is split in halves, each retried on its own; splitting does not use up retries).
* ``FunctionResponseTypes: [ReportBatchItemFailures]``: the records before the lowest reported
  offset are done; the partition resumes at that offset (a retry of the remaining records).
* ``DestinationConfig.OnFailure``: records given up on are sent, one failure record per Kafka
  record in Lambda's shape, to the destination resolved by ``local.destinations``; then the
  partition moves past them. Without a destination they are dropped (and logged).

Events hold the records of one partition each: the partition is the unit of ordering, retry and
back-pressure, like Lambda's one-invocation-per-partition concurrency. Invocations are made one at
a time from the mapping's thread.

Not emulated: authentication (SourceAccessConfigurations), provisioned pollers and scaling,
concurrent invocations of different partitions, the ``Enabled`` flag (the owner decides whether to
start a mapping), schema registry settings, and the minimum values AWS enforces for retry and
record-age settings (so tests may use small ones).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from .events import RawRecord, kafka_event
from .invoke import InvocationResult, Invoker
from .template import LOCAL_ACCOUNT, EventSpec

if TYPE_CHECKING:
    from .destinations import FailureDestination, FailureDestinations

__all__ = [
    "DEFAULT_MSK_ARN",
    "MAX_PAYLOAD_BYTES",
    "EsmConfigError",
    "EsmOptions",
    "EsmStats",
    "FilterError",
    "KafkaEventSourceMapping",
    "compile_filters",
]

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
DEFAULT_BATCH_SIZE = 100
DEFAULT_BATCHING_WINDOW = 0.5
DEFAULT_MSK_ARN = (
    f"arn:aws:kafka:us-east-1:{LOCAL_ACCOUNT}:cluster/local/00000000-0000-0000-0000-000000000000-1"
)
RETRIES_WITH_DESTINATION = (
    10  # Lambda caps infinite retries at 10 when an OnFailure destination is set
)
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
_TIMESTAMP_TYPES = {0: "CREATE_TIME", 1: "LOG_APPEND_TIME"}


class EsmConfigError(ValueError):
    """The event source properties are invalid or not supported locally."""


class FilterError(EsmConfigError):
    """A FilterCriteria pattern is invalid or uses an unsupported operator."""


# ======================================================================================= filters
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_STRING_OPS = ("prefix", "suffix", "equals-ignore-case", "wildcard")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_string_op(op: str, arg: Any, where: str) -> None:
    if op in ("prefix", "suffix") and isinstance(arg, dict):
        if set(arg) != {"equals-ignore-case"} or not isinstance(arg["equals-ignore-case"], str):
            raise FilterError(f"{where}: {op} takes a string or {{'equals-ignore-case': str}}")
        return
    if not isinstance(arg, str):
        raise FilterError(f"{where}: {op} takes a string, got {arg!r}")


def _check_matcher(m: Any, where: str) -> None:
    if m is None or isinstance(m, str | bool) or _is_number(m):
        return
    if not isinstance(m, dict) or len(m) != 1:
        raise FilterError(f"{where}: a matcher is a value or a one-key object, got {m!r}")
    ((op, arg),) = m.items()
    if op in _STRING_OPS:
        _check_string_op(op, arg, where)
    elif op == "exists":
        if not isinstance(arg, bool):
            raise FilterError(f"{where}: exists takes true or false")
    elif op == "numeric":
        if not isinstance(arg, list) or len(arg) not in (2, 4):
            raise FilterError(f"{where}: numeric takes [op, n] or [op, n, op, n]")
        for i in range(0, len(arg), 2):
            if arg[i] not in _NUMERIC_OPS or not _is_number(arg[i + 1]):
                raise FilterError(f"{where}: bad numeric condition {arg!r}")
    elif op == "anything-but":
        items = arg if isinstance(arg, list) else [arg]
        for item in items:
            if isinstance(item, dict):
                if len(item) != 1 or next(iter(item)) not in _STRING_OPS:
                    raise FilterError(f"{where}: unsupported anything-but operand {item!r}")
                ((sub, subarg),) = item.items()
                _check_string_op(sub, subarg, where)
            elif not (item is None or isinstance(item, str | bool) or _is_number(item)):
                raise FilterError(f"{where}: bad anything-but operand {item!r}")
    else:
        raise FilterError(f"{where}: unsupported filter operator {op!r}")


def _check_pattern(node: Any, where: str) -> None:
    if isinstance(node, list):
        if not node:
            raise FilterError(f"{where}: empty matcher list")
        for m in node:
            _check_matcher(m, where)
    elif isinstance(node, dict):
        if not node:
            raise FilterError(f"{where}: empty pattern object")
        for key, child in node.items():
            if key == "$or":
                if not isinstance(child, list) or len(child) < 2:
                    raise FilterError(f"{where}: $or takes a list of at least two patterns")
                for alt in child:
                    if not isinstance(alt, dict):
                        raise FilterError(f"{where}: $or alternatives must be objects")
                    _check_pattern(alt, where)
            else:
                _check_pattern(child, f"{where}.{key}")
    else:
        raise FilterError(f"{where}: pattern leaves must be lists of matchers, got {node!r}")


def _string_op(op: str, arg: Any, v: Any) -> bool:
    if not isinstance(v, str):
        return False
    if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "ab"}}
        arg, v = arg["equals-ignore-case"].lower(), v.lower()
    if op == "prefix":
        return v.startswith(arg)
    if op == "suffix":
        return v.endswith(arg)
    if op == "equals-ignore-case":
        return v.lower() == arg.lower()
    # wildcard: '*' matches any run of characters
    regex = ".*".join(re.escape(part) for part in arg.split("*"))
    return re.fullmatch(regex, v, re.DOTALL) is not None


def _match_scalar(m: Any, v: Any) -> bool:
    if m is None:
        return v is None
    if isinstance(m, bool):
        return isinstance(v, bool) and v == m
    if _is_number(m):
        return _is_number(v) and v == m
    if isinstance(m, str):
        return isinstance(v, str) and v == m
    ((op, arg),) = m.items()
    if op in _STRING_OPS:
        return _string_op(op, arg, v)
    if op == "numeric":
        if not _is_number(v):
            return False
        return all(_NUMERIC_OPS[arg[i]](v, arg[i + 1]) for i in range(0, len(arg), 2))
    if op == "anything-but":
        items = arg if isinstance(arg, list) else [arg]
        if isinstance(v, dict | list):
            return False
        return not any(_match_scalar(item, v) for item in items)
    return False


def _match_leaf(matchers: list[Any], present: bool, value: Any) -> bool:
    for m in matchers:
        if isinstance(m, dict) and "exists" in m:
            if present == m["exists"]:
                return True
            continue
        if not present:
            continue
        if isinstance(value, list):
            if any(_match_scalar(m, item) for item in value):
                return True
        elif _match_scalar(m, value):
            return True
    return False


def _match(pattern: Any, present: bool, value: Any) -> bool:
    if isinstance(pattern, list):
        return _match_leaf(pattern, present, value)
    if present and isinstance(value, list):  # arrays of objects: any element may match
        return any(_match(pattern, True, item) for item in value)
    is_obj = present and isinstance(value, dict)
    for key, child in pattern.items():
        if key == "$or":
            if not any(_match(alt, present, value) for alt in child):
                return False
            continue
        child_present = is_obj and key in value
        if not _match(child, child_present, value[key] if child_present else None):
            return False
    return True


def compile_filters(criteria: Mapping[str, Any] | None) -> Callable[[bytes | None], bool] | None:
    """A predicate over a record's raw value for Kafka ``FilterCriteria`` (None: no filtering).

    Kafka event sources filter on the ``value`` key only: the value is parsed as JSON and matched
    with Lambda's event filtering rules (exact values, ``prefix``, ``suffix``,
    ``equals-ignore-case``, ``wildcard``, ``anything-but``, ``numeric``, ``exists``, nested keys,
    arrays, ``$or``). A record matches when any filter matches; a value that is not JSON matches no
    filter. Invalid patterns raise ``FilterError``.
    """
    if not criteria:
        return None
    filters = criteria.get("Filters") if isinstance(criteria, Mapping) else None
    if not isinstance(filters, list) or not filters:
        raise FilterError("FilterCriteria needs a non-empty Filters list")
    if len(filters) > 10:
        raise FilterError("FilterCriteria allows at most 10 filters")
    patterns: list[Any] = []
    for i, flt in enumerate(filters):
        raw = flt.get("Pattern") if isinstance(flt, Mapping) else None
        if isinstance(raw, str):
            try:
                pattern = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise FilterError(f"filter {i}: Pattern is not valid JSON: {exc}") from exc
        elif isinstance(raw, Mapping):
            pattern = dict(raw)
        else:
            raise FilterError(f"filter {i}: Pattern must be a JSON string")
        if not isinstance(pattern, dict) or not pattern:
            raise FilterError(f"filter {i}: Pattern must be a JSON object")
        other = set(pattern) - {"value"}
        if other:
            raise FilterError(
                f"filter {i}: Kafka event sources only filter on the 'value' key, "
                f"not on {sorted(other)}"
            )
        _check_pattern(pattern["value"], f"filter {i}: value")
        patterns.append(pattern["value"])

    def matches(value: bytes | None) -> bool:
        if not value:
            return False
        try:
            data = json.loads(value)
        except (ValueError, UnicodeDecodeError):
            return False
        return any(_match(p, True, data) for p in patterns)

    return matches


# ======================================================================================= options
@dataclass
class EsmOptions:
    """Local knobs of the mapping (timings are in seconds)."""

    retry_initial_delay: float = 0.1
    retry_max_delay: float = 2.0
    #: longest wait for new records in one ``poll_once``
    poll_interval: float = 0.1
    #: how often to look for new partitions / topics
    partition_refresh_interval: float = 5.0
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    max_poll_records: int = 10_000
    region: str = "us-east-1"
    #: one log line per invocation (off when the invoker logs invocations itself)
    log_invocations: bool = True
    #: extra KafkaConsumer settings (security, timeouts, ...)
    consumer_config: Mapping[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time


@dataclass
class EsmStats:
    invocations: int = 0
    failed_invocations: int = 0
    records_invoked: int = 0
    records_succeeded: int = 0
    records_filtered: int = 0
    records_to_destination: int = 0
    records_dropped: int = 0
    commits: int = 0


# ======================================================================================= state
class _Batch:
    __slots__ = ("attempts", "condition", "last_request_id", "last_response", "records", "retry_at")

    def __init__(self, records: list[Any]) -> None:
        self.records = records
        self.attempts = 0
        self.retry_at = 0.0
        self.condition: str | None = None  # set once the batch is given up on
        self.last_response: dict[str, Any] | None = None
        self.last_request_id = ""


class _Partition:
    __slots__ = (
        "committed",
        "dirty",
        "first_pending_at",
        "inflight",
        "key",
        "next_offset",
        "pending",
        "pending_bytes",
        "start",
        "tp",
    )

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.key = f"{tp.topic}-{tp.partition}"
        self.pending: deque[tuple[Any, int]] = deque()  # (ConsumerRecord, estimated JSON size)
        self.pending_bytes = 0
        self.first_pending_at: float | None = None
        self.inflight: deque[_Batch] = deque()  # batches being retried, oldest first
        self.committed: int | None = None
        self.next_offset: int | None = None  # offset after the last record fetched
        self.start = 0  # where reading started (nothing to commit before it)
        self.dirty = False

    def commit_point(self) -> int | None:
        if self.inflight:
            return int(self.inflight[0].records[0].offset)
        if self.pending:
            return int(self.pending[0][0].offset)
        return self.next_offset


def _b64_len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def _record_size(rec: Any) -> int:
    """Upper bound of the record's JSON size inside a Lambda Kafka event."""
    size = 200 + len(rec.topic)
    if rec.value:
        size += _b64_len(len(rec.value))
    if rec.key:
        size += _b64_len(len(rec.key))
    if rec.headers:
        for name, value in rec.headers:
            size += len(name) * 6 + 12 + 6 * (len(value) if value else 0)
    return size


def _raw(rec: Any) -> RawRecord:
    headers = rec.headers
    if headers and any(v is None for _, v in headers):
        headers = [(k, v or b"") for k, v in headers]
    return RawRecord(
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        value=rec.value,
        key=rec.key,
        headers=headers or (),
        timestamp=rec.timestamp if rec.timestamp and rec.timestamp > 0 else 0,
        timestamp_type=_TIMESTAMP_TYPES.get(rec.timestamp_type, "CREATE_TIME"),
    )


def _iso_ms(epoch_seconds: float) -> str:
    return (
        datetime.fromtimestamp(epoch_seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _prop_int(props: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    raw = props.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise EsmConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise EsmConfigError(f"{name}={value} is out of range [{lo}, {hi}]")
    return value


def _prop_bool(props: Mapping[str, Any], name: str) -> bool:
    raw = props.get(name, False)
    if isinstance(raw, str):
        return raw.strip().lower() == "true"
    return bool(raw)


# ======================================================================================= mapping
class KafkaEventSourceMapping:
    """One Kafka event source mapping: a consumer of ``event``'s topics invoking ``invoker``.

    ``event_source_arn``/``self_managed`` default from the event (``Type: SelfManagedKafka`` gives
    the self-managed shape without ARN; ``MSK`` uses its ``Stream`` ARN). ``destinations`` resolves
    ``DestinationConfig.OnFailure`` (required when the event has one). ``log`` receives one line per
    invocation and notable events.
    """

    def __init__(
        self,
        function_name: str,
        event: EventSpec,
        invoker: Invoker,
        bootstrap_servers: str,
        *,
        event_source_arn: str | None = None,
        self_managed: bool | None = None,
        destinations: FailureDestinations | None = None,
        log: Callable[[str], None] = print,
        options: EsmOptions | None = None,
    ) -> None:
        if event.type not in ("MSK", "SelfManagedKafka"):
            raise EsmConfigError(f"{function_name}/{event.name}: not a Kafka event ({event.type})")
        self.function_name = function_name
        self.event = event
        self.invoker = invoker
        self.bootstrap_servers = bootstrap_servers
        self.log = log
        self.options = options or EsmOptions()
        self.stats = EsmStats()
        props = event.properties
        where = f"{function_name}/{event.name}"

        self.self_managed = (
            event.type == "SelfManagedKafka" if self_managed is None else self_managed
        )
        if self.self_managed:
            self.event_source_arn: str | None = None
        else:
            stream = props.get("Stream")
            self.event_source_arn = event_source_arn or (
                stream if isinstance(stream, str) and stream else DEFAULT_MSK_ARN
            )

        topics = props.get("Topics")
        if isinstance(topics, str):
            topics = [topics]
        if not topics or not all(isinstance(t, str) and t for t in topics):
            raise EsmConfigError(f"{where}: Topics must be a non-empty list of topic names")
        self.topics: tuple[str, ...] = tuple(dict.fromkeys(topics))
        group = props.get("ConsumerGroupId")
        if group is None:
            cfg = props.get("AmazonManagedKafkaEventSourceConfig") or props.get(
                "SelfManagedKafkaEventSourceConfig"
            )
            group = (cfg or {}).get("ConsumerGroupId")
        self.group_id: str = str(group) if group else str(uuid.uuid4())

        self.starting_position = str(props.get("StartingPosition", "TRIM_HORIZON")).upper()
        if self.starting_position not in STARTING_POSITIONS:
            raise EsmConfigError(
                f"{where}: StartingPosition {self.starting_position!r} not in {STARTING_POSITIONS}"
            )
        self.starting_timestamp: float | None = None
        if self.starting_position == "AT_TIMESTAMP":
            ts = props.get("StartingPositionTimestamp")
            if ts is None:
                raise EsmConfigError(f"{where}: AT_TIMESTAMP needs StartingPositionTimestamp")
            self.starting_timestamp = float(ts)

        self.batch_size = _prop_int(props, "BatchSize", DEFAULT_BATCH_SIZE, 1, 10_000)
        window = props.get("MaximumBatchingWindowInSeconds", DEFAULT_BATCHING_WINDOW)
        try:
            self.batching_window = float(window)
        except (TypeError, ValueError):
            raise EsmConfigError(
                f"{where}: bad MaximumBatchingWindowInSeconds {window!r}"
            ) from None
        if not 0 <= self.batching_window <= 300:
            raise EsmConfigError(f"{where}: MaximumBatchingWindowInSeconds must be in [0, 300]")

        response_types = props.get("FunctionResponseTypes") or []
        unknown = set(response_types) - {"ReportBatchItemFailures"}
        if unknown:
            raise EsmConfigError(f"{where}: unknown FunctionResponseTypes {sorted(unknown)}")
        self.report_batch_item_failures = "ReportBatchItemFailures" in response_types
        self.max_retries = _prop_int(props, "MaximumRetryAttempts", -1, -1, 10_000)
        self.max_record_age = _prop_int(props, "MaximumRecordAgeInSeconds", -1, -1, 604_800)
        self.bisect = _prop_bool(props, "BisectBatchOnFunctionError")
        self.filter = compile_filters(props.get("FilterCriteria"))

        self.destination: FailureDestination | None = None
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        if on_failure:
            if destinations is None:
                raise EsmConfigError(
                    f"{where}: has an OnFailure destination but no FailureDestinations"
                )
            self.destination = destinations.resolve(
                on_failure, bootstrap_servers=bootstrap_servers, source_topics=list(self.topics)
            )
            if self.max_retries == -1:
                self.max_retries = RETRIES_WITH_DESTINATION
        self.function_arn = (
            f"arn:aws:lambda:{self.options.region}:{LOCAL_ACCOUNT}:function:{function_name}"
        )

        self._consumer: KafkaConsumer | None = None
        self._parts: dict[TopicPartition, _Partition] = {}
        self._assigned: set[TopicPartition] = set()
        self._next_refresh = 0.0
        self._initial_assignment_done = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one poll cycle at a time
        self._envelope = 300 + len(bootstrap_servers) + len(self.event_source_arn or "")

    # ------------------------------------------------------------------ public
    def __repr__(self) -> str:
        return f"KafkaEventSourceMapping({self.function_name} <- {','.join(self.topics)} group={self.group_id})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def trigger(self, topic: str) -> str:
        return f"kafka:{topic}"

    def committed_offsets(self) -> dict[TopicPartition, int | None]:
        """The offsets this mapping committed last, per assigned partition."""
        return {tp: part.committed for tp, part in self._parts.items()}

    def open(self) -> None:
        """Connect and assign the partitions (done by ``start``/``poll_once`` when needed)."""
        if self._consumer is not None:
            return
        cfg: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "group_id": self.group_id,
            "client_id": f"esm-{self.function_name}",
            "enable_auto_commit": False,
            "auto_offset_reset": "latest" if self.starting_position == "LATEST" else "earliest",
            "isolation_level": "read_committed",
            "max_partition_fetch_bytes": self.options.max_payload_bytes,
            "fetch_max_bytes": max(52_428_800, 2 * self.options.max_payload_bytes),
            "fetch_max_wait_ms": 100,
            # full fetch requests: the assignment changes whenever a partition waits for a retry,
            # and Kafka-compatible brokers differ in their support of incremental fetch sessions
            "enable_incremental_fetch_sessions": False,
            "check_crcs": False,  # CRC32C is pure Python in kafka-python: the hot path's largest cost
            "metadata_max_age_ms": max(1000, int(self.options.partition_refresh_interval * 1000)),
        }
        cfg.update(self.options.consumer_config)
        self._consumer = KafkaConsumer(**cfg)
        self._refresh_partitions(force=True)
        self._initial_assignment_done = True

    def close(self) -> None:
        """Commit what is done and disconnect (a later ``poll_once`` reconnects)."""
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        try:
            self._commit(consumer)
        except Exception as exc:
            self.log(f"[esm] {self.function_name}: final commit failed: {exc}")
        finally:
            consumer.close(autocommit=False)
            self._parts.clear()
            self._assigned = set()
            self._initial_assignment_done = False

    def start(self) -> None:
        """Run the mapping in a background thread until ``stop``."""
        if self.running:
            return
        self.open()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"esm-{self.function_name}-{self.event.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the thread (after the invocation under way), commit and disconnect.

        Returns False when the thread did not finish within ``timeout`` (it then stops after its
        current invocation and closes the consumer itself).
        """
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                self.log(f"[esm] {self.function_name}: still busy after {timeout}s; stopping later")
                return False
            self._thread = None
        with self._lock:
            self.close()
        return True

    def poll_once(self, timeout: float | None = None) -> int:
        """One cycle: fetch, invoke the batches that are due, commit. Returns invocations made.

        ``timeout`` caps the wait for new records (default ``options.poll_interval``); the wait is
        shorter when a batching window or a retry falls due sooner.
        """
        if self.running and threading.current_thread() is not self._thread:
            raise RuntimeError("the mapping runs in its thread: use stop() before poll_once()")
        with self._lock:
            return self._cycle(self.options.poll_interval if timeout is None else timeout)

    def run_until_idle(self, timeout: float = 10.0) -> bool:
        """Poll until every record present when called has been handled and nothing waits.

        Returns True when idle, False when ``timeout`` passed first (e.g. a batch keeps failing).
        """
        if self.running:
            raise RuntimeError("the mapping runs in its thread: use stop() before run_until_idle()")
        clock = self.options.clock
        deadline = clock() + timeout
        with self._lock:
            self.open()
            targets = self._end_offsets()
        while True:
            self.poll_once(min(self.options.poll_interval, max(0.0, deadline - clock())))
            with self._lock:
                if self._idle(targets):
                    return True
                if clock() >= deadline:
                    return False
                if len(targets) != len(self._parts):
                    targets = self._end_offsets()

    def run_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll until ``predicate()`` is true (True) or ``timeout`` passes (False)."""
        clock = self.options.clock
        deadline = clock() + timeout
        while not predicate():
            if clock() >= deadline:
                return False
            self.poll_once(min(self.options.poll_interval, max(0.0, deadline - clock())))
        return True

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.poll_once()
                failures = 0
            except Exception as exc:
                failures += 1
                delay = min(
                    self.options.retry_max_delay, self.options.retry_initial_delay * 2**failures
                )
                self.log(
                    f"[esm] {self.function_name}: poll failed ({type(exc).__name__}: {exc}); retrying in {delay:.1f}s"
                )
                self._stop.wait(delay)
                with self._lock, contextlib.suppress(Exception):
                    if failures >= 3:  # reconnect from the committed offsets
                        self.close()
        with self._lock:
            try:
                self.close()
            except Exception as exc:
                self.log(f"[esm] {self.function_name}: close failed: {exc}")

    # ------------------------------------------------------------------ partitions
    def _refresh_partitions(self, force: bool = False) -> None:
        consumer = self._consumer
        assert consumer is not None
        now = self.options.clock()
        if not force and now < self._next_refresh:
            return
        self._next_refresh = now + self.options.partition_refresh_interval
        found: list[TopicPartition] = []
        for topic in self.topics:
            for p in sorted(consumer.partitions_for_topic(topic) or ()):
                found.append(TopicPartition(topic, p))
        new = [tp for tp in found if tp not in self._parts]
        if not new:
            return
        for tp in new:
            self._parts[tp] = _Partition(tp)
        self._sync_assignment(consumer)
        self._set_start_positions(new, initial=not self._initial_assignment_done)

    def _sync_assignment(self, consumer: KafkaConsumer) -> None:
        """Assign the partitions that may fetch: all but those with a batch being retried.

        A partition comes back at the offset after the last record it fetched (its unsent records
        stay buffered). Leaving the assignment, rather than ``pause()``, keeps the client from
        holding fetched data of a partition it will not return.
        """
        wanted = {tp for tp, part in self._parts.items() if not part.inflight}
        if wanted == self._assigned:
            return
        added = wanted - self._assigned
        if wanted:
            consumer.assign(list(wanted))
        else:
            consumer.unsubscribe()
        self._assigned = wanted
        for tp in added:
            offset = self._parts[tp].next_offset
            if offset is not None:
                consumer.seek(tp, offset)

    def _set_start_positions(self, tps: list[TopicPartition], initial: bool) -> None:
        consumer = self._consumer
        assert consumer is not None
        fresh: list[TopicPartition] = []
        for tp in tps:
            committed = consumer.committed(tp)
            part = self._parts[tp]
            if committed is not None:
                consumer.seek(tp, committed)
                part.committed = part.next_offset = part.start = committed
            else:
                fresh.append(tp)
        if not fresh:
            return
        if not initial or self.starting_position == "TRIM_HORIZON":
            starts = consumer.beginning_offsets(fresh)
        elif self.starting_position == "LATEST":
            starts = self._latest_offsets(fresh)
        else:
            assert self.starting_timestamp is not None
            ms = int(self.starting_timestamp * 1000)
            found = consumer.offsets_for_times(dict.fromkeys(fresh, ms))
            starts = {}
            for tp in fresh:
                hit = found.get(tp)
                if hit is not None and hit.timestamp >= 0:
                    starts[tp] = hit.offset
            past_end = [tp for tp in fresh if tp not in starts]  # no record that late yet
            if past_end:
                starts.update(self._latest_offsets(past_end))
        offsets = {}
        for tp in fresh:
            consumer.seek(tp, starts[tp])
            self._parts[tp].next_offset = self._parts[tp].start = starts[tp]
            offsets[tp] = OffsetAndMetadata(starts[tp], "", -1)
        if self.starting_position != "TRIM_HORIZON":
            # a restart must resume here, not at a later "latest"
            consumer.commit(offsets)
            for tp in fresh:
                self._parts[tp].committed = starts[tp]

    def _latest_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """End offsets, confirmed by a fetch's high watermark.

        Some Kafka-compatible brokers answer ListOffsets(latest) with the base offset of the last
        record batch + 1; the high watermark of a fetch response is exact.
        """
        consumer = self._consumer
        assert consumer is not None
        ends = consumer.end_offsets(tps)
        cfg: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "isolation_level": "read_committed",
            "max_partition_fetch_bytes": 1,
            **self.options.consumer_config,
        }
        cfg.update(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50)
        probe = KafkaConsumer(**cfg)
        try:
            probe.assign(tps)
            for tp in tps:
                probe.seek(tp, ends[tp])
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and any(probe.highwater(tp) is None for tp in tps):
                probe.poll(timeout_ms=50, max_records=1)
            return {tp: max(ends[tp], probe.highwater(tp) or 0) for tp in tps}
        finally:
            probe.close(autocommit=False)

    def _end_offsets(self) -> dict[TopicPartition, int]:
        assert self._consumer is not None
        tps = list(self._parts)
        return dict(self._consumer.end_offsets(tps)) if tps else {}

    def _idle(self, targets: Mapping[TopicPartition, int]) -> bool:
        consumer = self._consumer
        if consumer is None:
            return False
        for tp, part in self._parts.items():
            if part.pending or part.inflight:
                return False
            position = part.next_offset
            if position is None:
                return False
            highwater = consumer.highwater(tp)
            if highwater is None or position < highwater or position < targets.get(tp, 0):
                return False
        return True

    # ------------------------------------------------------------------ the cycle
    def _cycle(self, max_wait: float) -> int:
        self.open()
        consumer = self._consumer
        assert consumer is not None
        clock = self.options.clock
        self._refresh_partitions()
        now = clock()
        wait = self._wait_time(now, max_wait)
        if self._assigned:
            fetched = consumer.poll(
                timeout_ms=int(wait * 1000), max_records=self.options.max_poll_records
            )
            if fetched:
                self._ingest(fetched, clock())
        elif wait > 0:
            time.sleep(wait)  # every partition waits for a retry
        before = self.stats.invocations
        # every partition in turn, until none has a batch due; a retry at most once per cycle
        retries = True
        while True:
            now = clock()
            steps = sum(self._service(part, now, retries) for part in self._parts.values())
            retries = False
            if not steps:
                break
            # as Lambda does: what succeeded is committed before the next batches run, so a
            # crash in the middle of a large backlog redelivers little
            self._commit(consumer)
        self._sync_assignment(consumer)
        self._commit(consumer)
        return self.stats.invocations - before

    def _wait_time(self, now: float, max_wait: float) -> float:
        wait = max_wait
        for part in self._parts.values():
            if part.inflight:
                wait = min(wait, part.inflight[0].retry_at - now)
            elif part.pending:
                if self._ready(part, now):
                    return 0.0
                assert part.first_pending_at is not None
                wait = min(wait, part.first_pending_at + self.batching_window - now)
        return max(0.0, wait)

    def _ingest(self, fetched: Mapping[TopicPartition, list[Any]], now: float) -> None:
        flt = self.filter
        for tp, records in fetched.items():
            part = self._parts.get(tp)
            if part is None or not records:
                continue
            part.dirty = True
            part.next_offset = records[-1].offset + 1
            pending = part.pending
            added = 0
            for rec in records:
                if flt is not None and not flt(rec.value):
                    self.stats.records_filtered += 1
                    continue
                size = _record_size(rec)
                pending.append((rec, size))
                added += size
            part.pending_bytes += added
            if pending and part.first_pending_at is None:
                part.first_pending_at = now

    def _ready(self, part: _Partition, now: float) -> bool:
        return (
            len(part.pending) >= self.batch_size
            or part.pending_bytes + self._envelope >= self.options.max_payload_bytes
            or now - (part.first_pending_at or now) >= self.batching_window
        )

    def _take_batch(self, part: _Partition, now: float) -> _Batch:
        limit = self.options.max_payload_bytes - self._envelope - len(part.key)
        pending = part.pending
        records: list[Any] = []
        total = 0
        while pending and len(records) < self.batch_size:
            rec, size = pending[0]
            if total + size > limit:
                break
            pending.popleft()
            records.append(rec)
            total += size
        if not records:  # one record alone is over the payload limit
            rec, size = pending.popleft()
            records.append(rec)
            total = size
            batch = _Batch(records)
            batch.condition = "MaximumPayloadSizeExceeded"
        else:
            batch = _Batch(records)
        part.pending_bytes -= total
        # the next batch gathers for a window of its own
        part.first_pending_at = now if pending else None
        return batch

    def _service(self, part: _Partition, now: float, retries: bool) -> int:
        """Run the partition's due batch, if any; returns 1 when it did something."""
        if part.inflight:
            batch = part.inflight[0]
            if not retries or batch.retry_at > now:
                return 0
        elif part.pending and self._ready(part, now):
            batch = self._take_batch(part, now)
            part.inflight.append(batch)
        else:
            return 0
        return self._run_batch(part, batch, now)

    def _backoff(self, attempts: int) -> float:
        opts = self.options
        return min(opts.retry_max_delay, opts.retry_initial_delay * 2 ** max(0, attempts - 1))

    def _run_batch(self, part: _Partition, batch: _Batch, now: float) -> int:
        if batch.condition is not None:
            self._give_up(part, batch, now)
            return 1
        if self.max_record_age >= 0:
            cutoff = (self.options.wall_clock() - self.max_record_age) * 1000
            expired = [r for r in batch.records if 0 <= r.timestamp < cutoff]
            if expired:
                if not self._deliver_failures(expired, "RecordAgeExceeded", batch):
                    batch.retry_at = now + self._backoff(batch.attempts + 1)
                    return 1
                gone = {id(r) for r in expired}
                batch.records = [r for r in batch.records if id(r) not in gone]
                part.dirty = True
                if not batch.records:
                    part.inflight.popleft()
                    return 1

        records = batch.records
        event = kafka_event(
            map(_raw, records),
            bootstrap_servers=self.bootstrap_servers,
            event_source_arn=self.event_source_arn,
            self_managed=self.self_managed,
        )
        result = self._invoke(event, part.tp.topic, len(records))
        batch.attempts += 1
        batch.last_request_id = result.request_id
        stats = self.stats
        stats.invocations += 1
        stats.records_invoked += len(records)
        outcome, resume_at, detail = self._judge(result, part, records)
        span = f"{records[0].offset}-{records[-1].offset}"
        if self.options.log_invocations or outcome != "ok":
            self.log(
                f"[esm] {self.function_name} {self.trigger(part.tp.topic)} partition={part.tp.partition} "
                f"offsets={span} batch={len(records)} duration={result.duration_ms:.1f}ms "
                f"outcome={outcome}{': ' + detail if detail else ''}"
            )
        part.dirty = True
        if outcome == "ok":
            part.inflight.popleft()
            stats.records_succeeded += len(records)
            return 1
        stats.failed_invocations += 1
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not result.ok:
            response["functionError"] = "Unhandled"
        batch.last_response = response
        if outcome == "partial":
            assert resume_at is not None
            stats.records_succeeded += resume_at
            batch.records = records[resume_at:]
            self._after_failure(part, batch, now, bisect=False)
        else:
            self._after_failure(part, batch, now, bisect=self.bisect)
        return 1

    def _invoke(self, event: dict[str, Any], topic: str, size: int) -> InvocationResult:
        started = time.perf_counter()
        try:
            result = self.invoker.invoke(event, trigger=self.trigger(topic), batch_size=size)
        except Exception as exc:
            return InvocationResult(
                ok=False,
                error={"errorType": type(exc).__name__, "errorMessage": str(exc)},
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        if not isinstance(result, InvocationResult):
            return InvocationResult(
                ok=False,
                error={"errorType": "InvokerError", "errorMessage": f"invoker returned {result!r}"},
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        if not result.duration_ms:
            result = InvocationResult(
                ok=result.ok,
                payload=result.payload,
                error=result.error,
                duration_ms=(time.perf_counter() - started) * 1000,
                request_id=result.request_id,
            )
        return result

    def _judge(
        self, result: InvocationResult, part: _Partition, records: list[Any]
    ) -> tuple[str, int | None, str]:
        """("ok" | "error" | "partial" | "invalid-response", index to resume at, detail)."""
        if not result.ok:
            err = result.error or {}
            return "error", None, f"{err.get('errorType', 'Error')}: {err.get('errorMessage', '')}"
        if not self.report_batch_item_failures:
            return "ok", None, ""
        payload = result.payload
        if payload is None:
            return "ok", None, ""
        if not isinstance(payload, dict):
            return (
                "invalid-response",
                None,
                f"response is a {type(payload).__name__}, not an object",
            )
        failures = payload.get("batchItemFailures")
        if not failures:
            if failures is None or isinstance(failures, list):
                return "ok", None, ""
            return "invalid-response", None, "batchItemFailures is not a list"
        if not isinstance(failures, list):
            return "invalid-response", None, "batchItemFailures is not a list"
        positions = {r.offset: i for i, r in enumerate(records)}
        lowest: int | None = None
        for item in failures:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(ident, dict):
                return "invalid-response", None, f"bad itemIdentifier in {item!r}"
            offset = ident.get("offset")
            if isinstance(offset, str) and offset.isdigit():
                offset = int(offset)
            if (
                ident.get("partition") != part.key
                or not isinstance(offset, int)
                or isinstance(offset, bool)
            ):
                return (
                    "invalid-response",
                    None,
                    f"itemIdentifier {ident!r} is not a record of the batch",
                )
            if offset not in positions:
                return "invalid-response", None, f"offset {offset} is not in the batch"
            lowest = offset if lowest is None else min(lowest, offset)
        assert lowest is not None
        index = positions[lowest]
        return "partial", index, f"{len(records) - index} record(s) from offset {lowest} to retry"

    def _after_failure(self, part: _Partition, batch: _Batch, now: float, *, bisect: bool) -> None:
        if bisect and len(batch.records) > 1:
            mid = len(batch.records) // 2
            part.inflight.popleft()
            part.inflight.appendleft(_Batch(batch.records[mid:]))
            part.inflight.appendleft(_Batch(batch.records[:mid]))
            self.log(
                f"[esm] {self.function_name} {part.key}: batch of {len(batch.records)} split into "
                f"{mid} + {len(batch.records) - mid}"
            )
            return
        if self.max_retries >= 0 and batch.attempts > self.max_retries:
            batch.condition = "RetryAttemptsExhausted"
            self._give_up(part, batch, now)
            return
        batch.retry_at = now + self._backoff(batch.attempts)

    def _give_up(self, part: _Partition, batch: _Batch, now: float) -> None:
        assert batch.condition is not None
        if self._deliver_failures(batch.records, batch.condition, batch):
            part.inflight.popleft()
            part.dirty = True
        else:
            batch.retry_at = now + self._backoff(batch.attempts + 1)

    def _deliver_failures(self, records: Iterable[Any], condition: str, batch: _Batch) -> bool:
        records = list(records)
        if self.destination is None:
            self.stats.records_dropped += len(records)
            self.log(
                f"[esm] {self.function_name}: dropped {len(records)} record(s) of "
                f"{records[0].topic}-{records[0].partition} from offset {records[0].offset} "
                f"({condition}; no OnFailure destination)"
            )
            return True
        for rec in records:
            failure = self.failure_record(
                rec, condition, batch.attempts, batch.last_response, batch.last_request_id
            )
            try:
                self.destination.send(failure, key=rec.key)
            except Exception as exc:
                self.log(
                    f"[esm] {self.function_name}: OnFailure destination {self.destination.arn} "
                    f"failed ({type(exc).__name__}: {exc}); will retry"
                )
                return False
            self.stats.records_to_destination += 1
        self.log(
            f"[esm] {self.function_name}: sent {len(records)} record(s) of "
            f"{records[0].topic}-{records[0].partition} from offset {records[0].offset} to "
            f"{self.destination.arn} ({condition})"
        )
        return True

    def failure_record(
        self,
        rec: Any,
        condition: str,
        attempts: int,
        response: Mapping[str, Any] | None,
        request_id: str = "",
    ) -> dict[str, Any]:
        """The document Lambda sends to an OnFailure destination for one Kafka record."""
        event = kafka_event(
            [_raw(rec)],
            bootstrap_servers=self.bootstrap_servers,
            event_source_arn=self.event_source_arn,
            self_managed=self.self_managed,
        )
        info: dict[str, Any] = {"batchSize": 1}
        if self.event_source_arn:
            info["eventSourceArn"] = self.event_source_arn
        info["bootstrapServers"] = self.bootstrap_servers
        info["payloadSize"] = len(json.dumps(event).encode())
        ts = (
            rec.timestamp
            if rec.timestamp and rec.timestamp > 0
            else self.options.wall_clock() * 1000
        )
        info["recordInfo"] = {"offset": str(rec.offset), "timestamp": _iso_ms(ts / 1000)}
        return {
            "requestContext": {
                "requestId": request_id or str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": dict(response) if response is not None else None,
            "version": "1.0",
            "timestamp": _iso_ms(self.options.wall_clock()),
            "KafkaBatchInfo": info,
            "payload": event,
        }

    # ------------------------------------------------------------------ commits
    def _commit(self, consumer: KafkaConsumer) -> None:
        offsets = {}
        dirty = []
        for tp, part in self._parts.items():
            if not part.dirty:
                continue
            dirty.append(part)
            point = part.commit_point()
            floor = part.start if part.committed is None else part.committed
            if point is not None and point > floor:
                offsets[tp] = OffsetAndMetadata(point, "", -1)
        if offsets:
            consumer.commit(offsets)  # on error the partitions stay dirty: committed next cycle
            self.stats.commits += 1
            for tp, om in offsets.items():
                self._parts[tp].committed = om.offset
        for part in dirty:
            part.dirty = False
