"""The thread every polling source runs: ``poll_once`` again and again until ``stop``, a wait
of ``poll_interval`` when it took nothing, and an error (the emulator stopping, a network error)
logged once per poll and polled through. The SQS poller and the taps of SNS, EventBridge and S3
(short polls of a queue in the embedded emulator) are such sources."""

from __future__ import annotations

import threading
from collections.abc import Callable


class PollLoop:
    """A source polled on a thread of its own; a subclass sets ``log`` and ``poll_interval``,
    calls ``__init__`` and gives ``poll_once`` and ``loop_subject`` (what it polls: its thread is
    ``<kind>-<subject>``, its log lines ``[<kind>] <subject>: ...``)."""

    log: Callable[[str], None]
    poll_interval: float
    #: the kind of source, as its thread and log lines name it
    loop_kind = "poll"

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        #: the invocations on threads of their own (no event queue), waited for at stop
        self._inflight: list[threading.Thread] = []

    @property
    def loop_subject(self) -> str:
        raise NotImplementedError

    def poll_once(self) -> int:
        """Take and deliver what there is; how many were taken (0: none, wait a little)."""
        raise NotImplementedError

    def start(self) -> None:
        name = f"{self.loop_kind}-{self.loop_subject}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for thread in self._inflight:
            thread.join(timeout)

    def _keep(self, thread: threading.Thread | None) -> None:
        """Wait for ``thread`` at stop (the finished ones are let go)."""
        alive = [t for t in self._inflight if t.is_alive()]
        self._inflight = alive + ([thread] if thread is not None else [])

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                handled = self.poll_once()
            except Exception as exc:  # the emulator stopping, a network error: poll again
                if self._stopped.is_set():
                    return
                self.log(f"[{self.loop_kind}] {self.loop_subject}: {type(exc).__name__}: {exc}")
                handled = 0
            if not handled:
                self._stopped.wait(self.poll_interval)
