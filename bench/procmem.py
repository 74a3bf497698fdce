"""Memory of a process tree, from /proc (Linux): resident set size, summed over the processes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

PROC = Path("/proc")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from every thread's ``children`` file)."""
    out: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out.extend(int(p) for p in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    seen: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        stack.extend(children(current))
    return seen


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` in KiB (0 if it is gone or unreadable)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_rss_mb(pid: int | None = None) -> float:
    """RSS of the process tree rooted at ``pid`` (default: this process), in MiB."""
    return sum(rss_kb(p) for p in tree(pid or os.getpid())) / 1024


class PeakSampler:
    """Samples ``tree_rss_mb`` in a thread every ``interval`` seconds and keeps the peak."""

    def __init__(self, pid: int | None = None, interval: float = 0.25) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak_mb = 0.0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> float:
        pids = tree(self.pid)
        value = sum(rss_kb(p) for p in pids) / 1024
        if value > self.peak_mb:
            self.peak_mb = value
            self.peak_processes = len(pids)
        self.samples += 1
        return value

    def start(self) -> PeakSampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.sample()
        return self.peak_mb
