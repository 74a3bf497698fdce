"""The harness's log, timestamped as it arrives, with the runtime's invocation lines parsed.

``eventflow_local.runtime.functions`` logs one line per invocation when it ends::

    invoke <LogicalId> trigger=<trigger> batch=<n|-> duration=<ms>ms outcome=<...>

``LogTap`` is the ``log`` callable given to ``Stack``: it keeps those lines as ``Invocation``s
(end time = arrival time, start = end - duration), writes every line to a file, and lets a
caller wait for the next invocation of a function.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

INVOKE_LINE = re.compile(
    r"^invoke (?P<function>\S+) trigger=(?P<trigger>.*?) batch=(?P<batch>\S+) "
    r"duration=(?P<ms>[\d.]+)ms outcome=(?P<outcome>.*)$"
)


@dataclass(frozen=True)
class Invocation:
    function: str
    trigger: str
    batch: int | None
    duration_s: float
    ended: float  # time.perf_counter() when the line arrived
    ok: bool

    @property
    def started(self) -> float:
        return self.ended - self.duration_s


def parse_invocation(line: str, at: float) -> Invocation | None:
    match = INVOKE_LINE.match(line)
    if match is None:
        return None
    batch = match.group("batch")
    return Invocation(
        function=match.group("function"),
        trigger=match.group("trigger"),
        batch=int(batch) if batch.isdigit() else None,
        duration_s=float(match.group("ms")) / 1000,
        ended=at,
        ok=match.group("outcome").startswith("ok"),
    )


class LogTap:
    def __init__(self, path: Path | None = None) -> None:
        self.invocations: list[Invocation] = []
        self.lines = 0
        self._cond = threading.Condition()
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def __call__(self, line: str) -> None:
        at = time.perf_counter()
        invocation = parse_invocation(line, at)
        with self._cond:
            self.lines += 1
            if self._file is not None:
                self._file.write(line + "\n")
            if invocation is not None:
                self.invocations.append(invocation)
                self._cond.notify_all()

    def mark(self) -> int:
        """A position in the invocation list, for ``since``."""
        with self._cond:
            return len(self.invocations)

    def since(self, mark: int, function: str | None = None) -> list[Invocation]:
        with self._cond:
            found = self.invocations[mark:]
        return [i for i in found if function is None or i.function == function]

    def wait_for(self, mark: int, function: str, timeout: float) -> Invocation | None:
        """The first invocation of ``function`` after ``mark``, waiting up to ``timeout``."""
        deadline = time.perf_counter() + timeout
        with self._cond:
            while True:
                for invocation in self.invocations[mark:]:
                    if invocation.function == function:
                        return invocation
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def close(self) -> None:
        with self._cond:
            if self._file is not None:
                self._file.close()
                self._file = None
