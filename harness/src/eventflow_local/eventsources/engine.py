"""One batching / retry / bisect / max-age / partial-batch engine for every event source.

A source (Kafka, DynamoDB streams) feeds records into *lanes* (a Kafka partition, a stream shard:
the unit of ordering) and the engine decides what to invoke and what to do with the outcome, as
AWS's pages "Configuring error handling controls for Kafka event sources", "Using AWS Lambda with
Amazon DynamoDB" (error handling, partial batch responses) and "Batching behavior" describe it:

* a batch is invoked when it holds ``BatchSize`` records, when ``MaximumBatchingWindowInSeconds``
  has passed since its first record was buffered, or when one more record would pass the 6 MB
  payload limit; ``cross_lane=True`` (Kafka) fills one batch from several lanes, else a batch holds
  one lane (a stream shard);
* a failed invocation retries the same records with an exponential back-off; a lane with records
  in a failed batch waits (nothing of it is sent again before that batch is settled) while every
  other lane goes on: nothing blocks;
* ``BisectBatchOnFunctionError`` splits a failing batch in halves, each retried on its own (the
  halves of one lane run in order; a split does not use up retries);
* ``MaximumRetryAttempts`` / ``MaximumRecordAgeInSeconds`` give records up: they go to the
  OnFailure destination (one failure record built by the source), then the lane moves on;
* ``ReportBatchItemFailures``: per lane, the records before the lowest reported item are done, the
  rest is retried; an identifier that is not a record of the batch fails the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from eventflow_local.eventsources.batching import (
    Batch,
    EngineOptions,
    Entry,
    Lane,
    SourceAdapter,
    Stats,
)
from eventflow_local.eventsources.config import SourceConfig
from eventflow_local.runtime.invocation import InvocationResult

__all__ = ["Engine"]


class Engine:
    """Lanes, in-flight batches and the rules of Lambda's stream pollers."""

    def __init__(
        self,
        config: SourceConfig,
        source: SourceAdapter,
        *,
        cross_lane: bool,
        envelope: int,
        options: EngineOptions | None = None,
        log: Callable[[str], None] = print,
        log_invocations: bool = True,
        tag: str = "[esm]",
        stats: Stats | None = None,
    ) -> None:
        """``stats``: the counters to keep (shared with the source, which counts what it
        gives up on); a fresh ``Stats`` when None."""
        self.config = config
        self.source = source
        self.cross_lane = cross_lane
        self.envelope = envelope
        self.options = options or EngineOptions()
        self.log = log
        self.log_invocations = log_invocations
        self.tag = tag
        self.lanes: dict[str, Lane] = {}
        self.inflight: list[Batch] = []
        self.stats = stats if stats is not None else Stats()

    # ------------------------------------------------------------------ feeding
    def lane(self, key: str) -> Lane:
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = Lane(key)
        return lane

    def add(self, entry: Entry, now: float) -> None:
        self.lane(entry.lane).push(entry, now)

    def drop_lane(self, key: str) -> None:
        self.lanes.pop(key, None)
        self.inflight = [b for b in self.inflight if key not in b.lanes()]

    def unsettled(self, key: str) -> Entry | None:
        """The lane's first record not yet settled (None: all are)."""
        first: Entry | None = None
        for batch in self.inflight:
            for e in batch.entries:
                if e.lane == key:
                    first = e
                    break
            if first is not None:
                return first
        lane = self.lanes.get(key)
        return lane.pending[0] if lane is not None and lane.pending else None

    def idle(self) -> bool:
        return not self.inflight and not any(lane.pending for lane in self.lanes.values())

    # ------------------------------------------------------------------ timing
    def _free(self) -> list[Lane]:
        return [lane for lane in self.lanes.values() if lane.pending and not lane.busy]

    def _due_at(self, lanes: list[Lane]) -> float:
        """When the batch of ``lanes`` is due (-inf: now)."""
        count = sum(len(lane.pending) for lane in lanes)
        size = sum(lane.pending_bytes for lane in lanes)
        if (
            count >= self.config.batch_size
            or size + self.envelope >= self.options.max_payload_bytes
        ):
            return float("-inf")
        first = min(lane.first_pending_at or 0.0 for lane in lanes)
        return first + self.config.batching_window

    def _groups(self) -> list[list[Lane]]:
        free = self._free()
        if not free:
            return []
        return [free] if self.cross_lane else [[lane] for lane in free]

    def wait_time(self, now: float, max_wait: float) -> float:
        wait = max_wait
        for batch in self._runnable_order():
            wait = min(wait, batch.retry_at - now)
        for group in self._groups():
            wait = min(wait, self._due_at(group) - now)
        return max(0.0, wait)

    def blocked_lanes(self) -> set[str]:
        return {lane for batch in self.inflight for lane in batch.lanes()}

    # ------------------------------------------------------------------ the cycle
    def step(self, now: float, retries: bool = True) -> int:
        """Run what is due: retries (when ``retries``), then new batches. Returns batches run."""
        ran = 0
        if retries:
            for batch in self._runnable_order():
                if batch.retry_at <= now and batch in self.inflight:
                    self._run(batch, now)
                    ran += 1
        for group in self._groups():
            if self._due_at(group) <= now:
                batch = self._take(group)
                self.inflight.append(batch)
                for key in batch.lanes():
                    self.lanes[key].busy += 1
                self._run(batch, now)
                ran += 1
        return ran

    def _runnable_order(self) -> list[Batch]:
        """In-flight batches whose lanes have no earlier in-flight batch (order per lane kept)."""
        seen: set[str] = set()
        out = []
        for batch in self.inflight:
            lanes = batch.lanes()
            if not lanes & seen:
                out.append(batch)
            seen |= lanes
        return out

    def _take(self, group: list[Lane]) -> Batch:
        limit = self.options.max_payload_bytes - self.envelope
        entries: list[Entry] = []
        total = 0
        full = False
        for lane in sorted(group, key=lambda ln: ln.first_pending_at or 0.0):
            while lane.pending and len(entries) < self.config.batch_size:
                entry = lane.pending[0]
                if entry.condition is not None:
                    if not entries:
                        lane.pending.popleft()
                        lane.pending_bytes -= entry.size
                        lane.first_pending_at = self.options.clock() if lane.pending else None
                        return Batch([entry], condition=entry.condition)
                    full = True
                    break
                if total + entry.size + len(entry.lane) > limit:
                    full = True
                    break
                lane.pending.popleft()
                lane.pending_bytes -= entry.size
                entries.append(entry)
                total += entry.size + len(entry.lane)
            if lane.pending:
                lane.first_pending_at = self.options.clock()
            else:
                lane.first_pending_at = None
            if full or len(entries) >= self.config.batch_size:
                break
        if not entries:  # one record alone is over the payload limit
            lane = min(group, key=lambda ln: ln.first_pending_at or 0.0)
            entry = lane.pending.popleft()
            lane.pending_bytes -= entry.size
            if not lane.pending:
                lane.first_pending_at = None
            return Batch([entry], condition="MaximumPayloadSizeExceeded")
        return Batch(entries)

    def _backoff(self, attempts: int) -> float:
        opts = self.options
        return min(opts.retry_max_delay, opts.retry_initial_delay * 2 ** max(0, attempts - 1))

    def _finish(self, batch: Batch, entries: list[Entry] | None = None) -> None:
        """``entries`` (default: all) of ``batch`` are settled; drop the batch when it is empty."""
        done = list(batch.entries if entries is None else entries)
        self._remove(batch, entries)
        if done:
            self.source.settled(done)

    def _remove(self, batch: Batch, entries: list[Entry] | None) -> None:
        if entries is None or len(entries) == len(batch.entries):
            if batch in self.inflight:
                self.inflight.remove(batch)
                for key in batch.lanes():
                    if key in self.lanes:
                        self.lanes[key].busy -= 1
            batch.entries = []
        else:
            ids = {id(e) for e in entries}
            before = batch.lanes()
            batch.entries = [e for e in batch.entries if id(e) not in ids]
            for key in before - batch.lanes():
                if key in self.lanes:
                    self.lanes[key].busy -= 1

    def _run(self, batch: Batch, now: float) -> None:
        if batch.condition is not None:
            self._give_up(batch, now)
            return
        cfg = self.config
        if cfg.max_record_age >= 0:
            cutoff = (self.options.wall_clock() - cfg.max_record_age) * 1000
            expired = [e for e in batch.entries if 0 < e.arrival_ms < cutoff]
            if expired:
                if not self._deliver(expired, "RecordAgeExceeded", batch):
                    batch.retry_at = now + self._backoff(batch.attempts + 1)
                    return
                self._finish(batch, expired)
                if not batch.entries:
                    return
        entries = batch.entries
        result = self.source.invoke(entries)
        batch.attempts += 1
        batch.last_request_id = result.request_id
        stats = self.stats
        stats.invocations += 1
        stats.records_invoked += len(entries)
        outcome, done, detail = self._judge(result, entries)
        if self.log_invocations or outcome != "ok":
            self.log(
                f"{self.tag} {cfg.function} {self.source.describe(entries)} "
                f"batch={len(entries)} duration={result.duration_ms:.1f}ms "
                f"outcome={outcome}{': ' + detail if detail else ''}"
            )
        if outcome == "ok":
            stats.records_succeeded += len(entries)
            self._finish(batch)
            return
        stats.failed_invocations += 1
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not result.ok:
            response["functionError"] = "Unhandled"
        batch.last_response = response
        if outcome == "partial":
            stats.records_succeeded += len(done)
            self._finish(batch, done)
            self._after_failure(batch, now, bisect=False)
        else:
            self._after_failure(batch, now, bisect=cfg.bisect)

    def _judge(
        self, result: InvocationResult, entries: list[Entry]
    ) -> tuple[str, list[Entry], str]:
        """("ok" | "error" | "partial" | "invalid-response", entries done, detail)."""
        if not result.ok:
            err = result.error or {}
            return "error", [], f"{err.get('errorType', 'Error')}: {err.get('errorMessage', '')}"
        payload = result.payload
        if not self.config.report_batch_item_failures or payload is None:
            return "ok", list(entries), ""
        if not isinstance(payload, dict):
            return "invalid-response", [], f"response is a {type(payload).__name__}, not an object"
        failures = payload.get("batchItemFailures")
        if failures is None or failures == []:
            return "ok", list(entries), ""
        if not isinstance(failures, list):
            return "invalid-response", [], "batchItemFailures is not a list"
        lowest: dict[str, int] = {}
        for item in failures:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            index = self.source.item_of(ident, entries) if ident not in (None, "") else None
            if index is None:
                return (
                    "invalid-response",
                    [],
                    f"itemIdentifier {ident!r} is not a record of the batch",
                )
            lane = entries[index].lane
            lowest[lane] = min(lowest.get(lane, index), index)
        keep: list[Entry] = []
        done: list[Entry] = []
        for i, e in enumerate(entries):
            (keep if e.lane in lowest and i >= lowest[e.lane] else done).append(e)
        return "partial", done, f"{len(keep)} record(s) to retry"

    def _after_failure(self, batch: Batch, now: float, *, bisect: bool) -> None:
        if bisect and len(batch.entries) > 1:
            mid = len(batch.entries) // 2
            halves = [Batch(batch.entries[:mid]), Batch(batch.entries[mid:])]
            at = self.inflight.index(batch)
            self.inflight[at : at + 1] = halves
            for key in batch.lanes():
                self.lanes[key].busy += sum(key in h.lanes() for h in halves) - 1
            self.log(
                f"{self.tag} {self.config.function} {self.source.describe(batch.entries)}: batch of "
                f"{len(batch.entries)} split into {mid} + {len(batch.entries) - mid}"
            )
            return
        max_retries = self.config.max_retries
        if max_retries >= 0 and batch.attempts > max_retries:
            batch.condition = "RetryAttemptsExhausted"
            self._give_up(batch, now)
            return
        batch.retry_at = now + self._backoff(batch.attempts)

    def _give_up(self, batch: Batch, now: float) -> None:
        assert batch.condition is not None
        if self._deliver(batch.entries, batch.condition, batch):
            self._finish(batch)
        else:
            batch.retry_at = now + self._backoff(batch.attempts + 1)

    def _deliver(self, entries: Iterable[Entry], condition: str, batch: Batch) -> bool:
        return self.source.give_up(list(entries), condition, batch)
