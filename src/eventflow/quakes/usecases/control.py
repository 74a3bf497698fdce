"""Start, stop and status of the earthquake stream (the API side of the emitter function)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventflow.clock import epoch_ms
from eventflow.errors import TransientError
from eventflow.quakes.adapters.stream import StreamStore
from eventflow.quakes.domain.models import StartStream
from eventflow.quakes.domain.rules import StreamState, plain_number
from eventflow.quakes.ports import Kicker

MAX_ATTEMPTS = 5


def new_run_id() -> str:
    return uuid.uuid4().hex


class StreamControl:
    def __init__(
        self,
        store: StreamStore,
        kicker: Kicker,
        clock_ms: Callable[[], int] = epoch_ms,
        run_ids: Callable[[], str] = new_run_id,
    ) -> None:
        self.store = store
        self.kicker = kicker
        self.clock_ms = clock_ms
        self.run_ids = run_ids

    def status(self) -> dict[str, Any]:
        return self.store.get().view(self.clock_ms())

    def start(self, body: StartStream) -> dict[str, Any]:
        """Open a run, or change the active run's settings: never a second stream."""
        now = self.clock_ms()
        stop_at = now + body.durationSeconds * 1000 if body.durationSeconds else None
        law = body.magnitudes.value
        rate = plain_number(body.rate)
        for _ in range(MAX_ATTEMPTS):
            opened, state = self.store.open_run(self.run_ids(), body.rate, law, stop_at, now)
            if opened:
                invoked = self._ensure_emitter(state, now)
                return {
                    "started": True,
                    "alreadyRunning": False,
                    "message": f"stream started at {rate} events/s"
                    + self._emission_note(state, now, invoked),
                    "stream": state.view(now),
                }
            previous = state
            if previous.run_id is None:  # vanished between the two writes
                continue
            changed, state = self.store.change_run(previous.run_id, body.rate, law, stop_at, now)
            if changed:
                invoked = self._ensure_emitter(state, now)
                before = plain_number(previous.rate)
                message = (
                    f"stream already running; rate changed from {before} to {rate} events/s"
                    if before != rate
                    else f"stream already running at {rate} events/s"
                )
                return {
                    "started": False,
                    "alreadyRunning": True,
                    "message": message + self._emission_note(state, now, invoked),
                    "stream": state.view(now),
                }
        raise TransientError("the stream changed during the request; try again")

    def stop(self) -> dict[str, Any]:
        now = self.clock_ms()
        stopped, state = self.store.stop(now)
        if stopped:
            return {
                "stopped": True,
                "message": f"stream stopped ({state.emitted} events emitted so far)",
                "stream": state.view(now),
            }
        if state.duration_elapsed(now) and state.run_id and state.stop_at_ms:
            self.store.finish(state.run_id, state.stop_at_ms, "duration elapsed")
        return {"stopped": False, "message": "no stream was running", "stream": state.view(now)}

    def _ensure_emitter(self, state: StreamState, now: int) -> bool:
        """Invoke an emitter now unless one is already emitting."""
        if state.emitter_alive(now):
            return False
        return self.kicker.kick("start")

    @staticmethod
    def _emission_note(state: StreamState, now: int, invoked: bool) -> str:
        if state.emitter_alive(now):
            return ""
        if invoked:
            return "; emitter invoked"
        return "; emission begins at the emitter's next scheduled run"
