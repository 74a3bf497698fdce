"""The Lambda Kafka event source mapping (MSK and self-managed Apache Kafka), emulated locally.

``KafkaEventSourceMapping`` reads the topic of one ``MSK``/``SelfManagedKafka`` event of a SAM
template from a real Kafka broker and invokes the function through an ``Invoker`` with events
shaped as Lambda delivers them (``eventflow_local.events.kafka.kafka_event``). Configuration comes from
``config.parse_config`` (AWS's validation), filtering from ``filters`` (``value`` only, JSON or
plain string), retries / bisect / max age / partial batches from the shared ``engine``.

Batching across partitions. AWS's pages "Using Lambda with Amazon MSK" / "...self-managed Apache
Kafka" (the example event: ``records`` keyed by ``<topic>-<partition>``, several keys in one
event), "Batching behavior" (BatchSize, MaximumBatchingWindowInSeconds with its 500 ms Kafka
default, the 6 MB payload) and the Serverless Land guide "Processing with the event source
mapping" for Lambda and Kafka ("polls records from one or many partitions and sends them to your
Lambda function"): records fetched from every partition that is not waiting for a retry go into
one batch, invoked when it holds ``BatchSize`` records, when the window has passed since its first
record, or at the 6 MB payload limit. Within a partition records keep their offset order; a failed
batch blocks only the partitions it holds (they leave the consumer's assignment until it is
settled) while the others go on. A partial batch response names items as
``{"partition": "<topic>-<n>", "offset": N}`` ("Configuring error handling controls for Kafka
event sources"): each named partition resumes at its lowest named offset, the other partitions
of the batch are done.

Offsets are committed under the consumer group once every record before them is settled
(succeeded, filtered out, or sent to the failure destination). ``StartingPosition`` is used only
for partitions the group has no committed offset for; partitions that appear later are read from
their beginning. A record that alone exceeds the 6 MB payload is given up on (condition
``MaximumPayloadSizeExceeded``) without an invocation: AWS's pages state the limit, not what the
poller does with such a record.

Not emulated: authentication (SourceAccessConfigurations), provisioned pollers and their scaling,
schema registries, and concurrent invocations (one batch of a mapping is invoked at a time).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kafka import KafkaConsumer, TopicPartition

from eventflow_local.aws import KAFKA_EVENT_TYPES, function_arn, local_msk_arn
from eventflow_local.eventsources.batching import MAX_PAYLOAD_BYTES, EngineOptions, Entry, Stats
from eventflow_local.eventsources.config import (
    EsmConfigError,
    parse_config,
)
from eventflow_local.eventsources.engine import Engine
from eventflow_local.eventsources.kafka.batches import KafkaBatches
from eventflow_local.eventsources.kafka.consumer import EsmOptions, filter_metadata, make_consumer
from eventflow_local.eventsources.kafka.decode import FetchGuard
from eventflow_local.eventsources.kafka.offsets import latest_offsets
from eventflow_local.eventsources.kafka.partitions import Partitions, skip_undecodable
from eventflow_local.eventsources.kafka.records import lenient_header_names, record_size
from eventflow_local.runtime.invocation import Invoker
from eventflow_local.template.specs import EventSpec

if TYPE_CHECKING:
    from eventflow_local.eventsources.destinations import FailureDestination, FailureDestinations

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "EsmOptions",
    "KafkaEventSourceMapping",
]

lenient_header_names()


class KafkaEventSourceMapping:
    """One Kafka event source mapping: a consumer of ``event``'s topic invoking ``invoker``.

    ``event_source_arn``/``self_managed`` default from the event. ``destinations`` resolves
    ``DestinationConfig.OnFailure`` (required when the event has one). Raises ``EsmConfigError``
    for a configuration AWS refuses.
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
        if event.type not in KAFKA_EVENT_TYPES:
            raise EsmConfigError(f"{function_name}.{event.name}", "Type", "not a Kafka event")
        self.config = cfg = parse_config(function_name, event.name, event.type, event.properties)
        self.function_name = function_name
        self.event = event
        self.invoker = invoker
        self.bootstrap_servers = bootstrap_servers
        self.log = log
        self.options = opts = options or EsmOptions()
        self.self_managed = (
            event.type == "SelfManagedKafka" if self_managed is None else self_managed
        )
        self.event_source_arn: str | None = (
            None
            if self.self_managed
            else (event_source_arn or cfg.stream or local_msk_arn(opts.region))
        )
        self.topics = cfg.topics
        self.group_id = cfg.group_id
        self.starting_position = cfg.starting_position
        self.batch_size = cfg.batch_size
        self.batching_window = cfg.batching_window
        self.max_retries = cfg.max_retries
        self.max_record_age = cfg.max_record_age
        self.bisect = cfg.bisect
        self.report_batch_item_failures = cfg.report_batch_item_failures
        self.filter = cfg.filter
        #: the record's metadata is built for the filter only when a pattern names it
        self._filter_uses_metadata = bool(cfg.filter_metadata_keys)
        self.destination: FailureDestination | None = None
        if cfg.on_failure:
            if destinations is None:
                raise EsmConfigError(cfg.where, "DestinationConfig", "no FailureDestinations given")
            self.destination = destinations.resolve(
                cfg.on_failure, bootstrap_servers=bootstrap_servers, source_topics=list(self.topics)
            )
        self.function_arn = function_arn(function_name, opts.region)
        self.stats = Stats()
        #: the partitions seen so far, their offsets and the consumer's assignment
        self.partitions = Partitions()
        self.batches = KafkaBatches(
            function_name=function_name,
            function_arn=self.function_arn,
            invoker=invoker,
            bootstrap_servers=bootstrap_servers,
            event_source_arn=self.event_source_arn,
            self_managed=self.self_managed,
            destination=self.destination,
            stats=self.stats,
            on_settled=self.partitions.mark_settled,
            log=log,
            wall_clock=opts.wall_clock,
        )
        self.engine = Engine(
            cfg,
            self.batches,
            stats=self.stats,
            cross_lane=True,
            envelope=300 + len(bootstrap_servers) + len(self.event_source_arn or ""),
            options=EngineOptions(
                retry_initial_delay=opts.retry_initial_delay,
                retry_max_delay=opts.retry_max_delay,
                max_payload_bytes=opts.max_payload_bytes,
                clock=opts.clock,
                wall_clock=opts.wall_clock,
            ),
            log=log,
            log_invocations=opts.log_invocations,
        )
        self._consumer: KafkaConsumer | None = None
        self._guard: FetchGuard
        self._next_refresh = 0.0
        self._initial_assignment_done = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one poll cycle at a time

    # ------------------------------------------------------------------ public
    def __repr__(self) -> str:
        return f"KafkaEventSourceMapping({self.function_name} <- {','.join(self.topics)} group={self.group_id})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def committed_offsets(self) -> dict[TopicPartition, int | None]:
        """The offsets this mapping committed last, per assigned partition."""
        return self.partitions.committed_offsets()

    def open(self) -> None:
        """Connect and assign the partitions (done by ``start``/``poll_once`` when needed)."""
        if self._consumer is not None:
            return
        self._consumer = make_consumer(
            self.bootstrap_servers,
            self.group_id,
            self.function_name,
            self.starting_position,
            self.options,
        )
        self._guard = FetchGuard(self._consumer)
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
            for part in self.partitions:
                self.engine.drop_lane(part.key)
            self.partitions.clear()
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
        """Stop the thread (after the invocation under way), commit and disconnect."""
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
        """One cycle: fetch, invoke the batches that are due, commit. Returns invocations made."""
        if self.running and threading.current_thread() is not self._thread:
            raise RuntimeError("the mapping runs in its thread: use stop() before poll_once()")
        with self._lock:
            return self._cycle(self.options.poll_interval if timeout is None else timeout)

    def run_until_idle(self, timeout: float = 10.0) -> bool:
        """Poll until every record present when called has been handled and nothing waits."""
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
                if len(targets) != len(self.partitions):
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
                    f"[esm] {self.function_name}: poll failed ({type(exc).__name__}: {exc}); "
                    f"retrying in {delay:.1f}s"
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
        found = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        new = self.partitions.discover(
            consumer,
            found,
            position=self.starting_position
            if not self._initial_assignment_done
            else "TRIM_HORIZON",
            timestamp=self.config.starting_timestamp,
            latest=self._latest_offsets,
            blocked=self.engine.blocked_lanes,
            commit_starts=self.starting_position != "TRIM_HORIZON",
        )
        for part in new:
            self.engine.lane(part.key)

    def _latest_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        assert self._consumer is not None
        return latest_offsets(
            self._consumer, tps, self.bootstrap_servers, self.options.consumer_config
        )

    def _end_offsets(self) -> dict[TopicPartition, int]:
        assert self._consumer is not None
        tps = self.partitions.topic_partitions()
        return dict(self._consumer.end_offsets(tps)) if tps else {}

    def _idle(self, targets: Mapping[TopicPartition, int]) -> bool:
        consumer = self._consumer
        if consumer is None or not self.engine.idle():
            return False
        for part in self.partitions:
            tp = part.tp
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
        wait = self.engine.wait_time(clock(), max_wait)
        if self.partitions.assigned:
            try:
                fetched = consumer.poll(
                    timeout_ms=int(wait * 1000), max_records=self.options.max_poll_records
                )
            except Exception:
                if not self._step_over_undecodable(consumer):
                    raise
                fetched = {}
            if fetched:
                self._ingest(fetched, clock())
        elif wait > 0:
            time.sleep(wait)  # every partition waits for a retry
        before = self.stats.invocations
        retries = True  # a retry at most once per cycle
        while self.engine.step(clock(), retries):
            retries = False
            # what succeeded is committed before the next batches run
            self._commit(consumer)
        self.partitions.sync_assignment(consumer, self.engine.blocked_lanes())
        self._commit(consumer)
        return self.stats.invocations - before

    def _step_over_undecodable(self, consumer: KafkaConsumer) -> bool:
        """After ``poll`` raised: queue each batch that cannot be decoded as a record to give up
        on (in its partition's order) and move the partition past it. False: none found."""
        skipped = skip_undecodable(consumer, self._guard, self.partitions)
        for part, bad in skipped:
            self.log(
                f"[esm] {self.function_name}: {part.key} offsets {bad.offset}-"
                f"{bad.next_offset - 1} cannot be decoded ({bad.reason}); skipping them"
            )
            entry = Entry(part.key, bad, len(bad.value) * 2, condition="RecordDecodingFailed")
            self.engine.add(entry, self.options.clock())
        return bool(skipped)

    def _ingest(self, fetched: Mapping[TopicPartition, list[Any]], now: float) -> None:
        flt = self.filter
        metadata = filter_metadata if self._filter_uses_metadata else None
        for tp, records in fetched.items():
            part = self.partitions.get(tp)
            if part is None or not records:
                continue
            part.dirty = True
            part.next_offset = records[-1].offset + 1
            for rec in records:
                if flt is not None and not flt(rec.value, metadata(rec) if metadata else None):
                    self.stats.records_filtered += 1
                    continue
                ts = rec.timestamp if rec.timestamp and rec.timestamp > 0 else 0
                self.engine.add(Entry(part.key, rec, record_size(rec), ts), now)

    # ------------------------------------------------------------------ commits
    def _commit(self, consumer: KafkaConsumer) -> None:
        if self.partitions.commit(consumer, self.engine.unsettled):
            self.stats.commits += 1
