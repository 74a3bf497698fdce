"""One emission run: what a scheduled (or self-invoked) emitter invocation does.

1. Take the lease (only if a run is active and no other emitter holds it), else return at once.
2. Every ``tick_s`` publish the events due at the stream's rate as one batch (key = region,
   acks=all, flushed and confirmed before the next batch).
3. Every ``check_s`` (at most a second) renew the lease, add the emitted count, and read the
   state in the same conditional write: a stop, a new rate or a new run takes effect there.
4. Stop shortly before the invocation's time runs out (``reserve_ms``), give the lease back,
   and, if the stream is still running (or was started again meanwhile), invoke the next
   emitter so emission continues.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from eventflow.clock import epoch_ms
from eventflow.kafka.producer import Message
from eventflow.observability import logger
from eventflow.quakes.adapters.stream import StreamStore
from eventflow.quakes.domain.generator import QuakeGenerator
from eventflow.quakes.domain.models import Earthquake, MagnitudeLaw, event_payload
from eventflow.quakes.domain.rules import StreamState, events_due
from eventflow.quakes.ports import Kicker, Publisher

EVENT_TYPE = "Earthquake"


@dataclass
class EmitReport:
    emitted: int
    reason: str
    runId: str | None = None
    batches: int = 0
    handedOver: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def quake_message(topic: str, quake: Earthquake) -> Message:
    return Message.json(
        topic=topic,
        key=quake.region,
        payload=event_payload(quake),
        headers={"eventId": quake.id, "eventType": EVENT_TYPE},
    )


class QuakeEmitter:
    def __init__(
        self,
        store: StreamStore,
        publisher: Publisher,
        topic: str,
        kicker: Kicker,
        generator: Callable[[MagnitudeLaw], QuakeGenerator] = QuakeGenerator,
        clock_ms: Callable[[], int] = epoch_ms,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        tick_s: float = 0.1,
        check_s: float = 0.5,
        lease_s: float = 10.0,
        reserve_ms: int = 3000,
        max_batch: int = 500,
    ) -> None:
        if not 0 < check_s <= 1.0:
            raise ValueError("check_s must be in (0, 1]: a stop must take effect within a second")
        self.store = store
        self.publisher = publisher
        self.topic = topic
        self.kicker = kicker
        self.generator = generator
        self.clock_ms = clock_ms
        self.monotonic = monotonic
        self.sleep = sleep
        self.tick_s = tick_s
        self.check_s = check_s
        self.lease_ms = int(lease_s * 1000)
        self.reserve_ms = reserve_ms
        self.max_batch = max_batch

    def run(self, owner: str, remaining_ms: Callable[[], int]) -> EmitReport:
        now = self.clock_ms()
        acquired, state = self.store.acquire(owner, now, now + self.lease_ms)
        if not acquired:
            return EmitReport(0, self._why_not(state, now), state.run_id)
        logger.append_keys(runId=state.run_id)
        logger.info(
            "emission run started", extra={"rate": state.rate, "magnitudes": state.magnitudes}
        )
        report = EmitReport(0, "deadline", state.run_id)
        progress = _Progress(state.run_id or "")
        final: StreamState | None = None
        try:
            report.reason, state = self._emit(owner, state, remaining_ms, report, progress)
        finally:
            try:
                final = self.store.release(
                    owner, progress.run_id, progress.unreported, self.clock_ms()
                )
            except Exception:  # the lease expires by itself; do not mask the run's outcome
                logger.warning("could not release the emitter lease", exc_info=True)
        # Still running after letting go (time is up, or a start came while this run was ending
        # and saw the lease held): the next emitter starts now rather than at the next schedule.
        if final is not None and report.reason != "lease lost" and final.active(self.clock_ms()):
            report.handedOver = self.kicker.kick("handover")
        logger.info("emission run ended", extra=report.as_dict())
        return report

    def _why_not(self, state: StreamState, now: int) -> str:
        if state.duration_elapsed(now):
            self._finish(state)
            return "duration elapsed"
        if state.active(now):
            return "another emitter holds the lease"
        return "no stream is running"

    def _finish(self, state: StreamState) -> None:
        if state.run_id and state.stop_at_ms:
            self.store.finish(state.run_id, state.stop_at_ms, "duration elapsed")

    def _emit(
        self,
        owner: str,
        state: StreamState,
        remaining_ms: Callable[[], int],
        report: EmitReport,
        progress: _Progress,
    ) -> tuple[str, StreamState]:
        """The loop. Returns why it ended and the last state read."""
        rate = state.rate or 0.0
        law = MagnitudeLaw(state.magnitudes or MagnitudeLaw.GUTENBERG_RICHTER)
        gen = self.generator(law)
        anchor = self.monotonic()
        sent = 0
        next_check = anchor + self.check_s
        while True:
            if remaining_ms() <= self.reserve_ms:
                return "deadline", state
            t = self.monotonic()
            if t >= next_check:
                now = self.clock_ms()
                fresh = self.store.heartbeat(
                    owner, progress.run_id, progress.unreported, now, now + self.lease_ms
                )
                progress.unreported = 0
                if fresh is None:
                    return "lease lost", state
                state = fresh
                if state.duration_elapsed(now):
                    self._finish(state)
                    return "duration elapsed", state
                if not state.active(now):
                    return "stopped", state
                if (state.run_id, state.rate, state.magnitudes) != (
                    progress.run_id,
                    rate,
                    law.value,
                ):
                    if state.magnitudes != law.value:
                        law = MagnitudeLaw(state.magnitudes or law)
                        gen = self.generator(law)
                    progress.run_id = report.runId = state.run_id or progress.run_id
                    rate = state.rate or rate
                    anchor, sent = t, 0
                next_check = t + self.check_s
            if state.stop_at_ms is not None and self.clock_ms() >= state.stop_at_ms:
                self._finish(state)
                return "duration elapsed", state
            due = events_due(rate, t - anchor, sent)
            if due > self.max_batch:  # the broker fell behind: drop the backlog, never burst
                anchor, sent, due = t, 0, 1
            if due:
                quakes = gen.batch(due)
                self.publisher.publish([quake_message(self.topic, q) for q in quakes])
                sent += due
                progress.unreported += due
                report.emitted += due
                report.batches += 1
            wait = min(self.tick_s, next_check - self.monotonic())
            if wait > 0:
                self.sleep(wait)


@dataclass
class _Progress:
    """What the stream item does not know yet: the run emitted for and the uncounted events."""

    run_id: str
    unreported: int = 0
