"""Which files changed: a polling watcher over the folders the running functions read.

Reload on save (``eventflow_local.runtime.reload``) needs to know, within a fraction of a second,
that a file of a function's ``CodeUri``, of one of its layers or the template itself was saved.
The standard library has no file-change notification that works the same on Linux, macOS and
Windows, so this polls: every ``interval`` seconds it walks the watched roots and compares each
file's modification time (in nanoseconds) and size with the previous walk, as watchdog's
polling observer does where no native notification exists, without adding that dependency. A
few hundred files take a few milliseconds to walk; nothing of a function's process is touched.

Skipped while walking: ``__pycache__``, the harness's own folders (``.aws-sam-local`` builds,
``.eventflow-local`` / ``.local`` state), ``.aws-sam``, ``.git``, virtualenvs, ``node_modules``,
other hidden folders and editors' swap and backup files, so that neither the harness's own writes
nor an editor's temporary files look like a change of code.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

POLL_INTERVAL_S = 0.25
SETTLE_S = 0.05  # a save that writes in steps (truncate, write) is read once it is whole
SKIPPED_DIRS = frozenset(
    {"__pycache__", "node_modules", "venv", "env", ".aws-sam", ".aws-sam-local", ".git"}
)
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", ".tmp", "~")

Stamp = tuple[int, int]  # (mtime in ns, size)


def _skipped_file(name: str) -> bool:
    return name.endswith(SKIPPED_SUFFIXES) or name.startswith((".#", "#"))


def scan(roots: Iterable[Path]) -> dict[Path, Stamp]:
    """Every watched file under ``roots`` (a root may be a single file) with its stamp."""
    found: dict[Path, Stamp] = {}
    for root in roots:
        if root.is_file():
            try:
                stat = root.stat()
            except OSError:
                continue
            found[root] = (stat.st_mtime_ns, stat.st_size)
            continue
        stack = [str(root)]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:  # removed meanwhile, or not readable
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in SKIPPED_DIRS and not entry.name.startswith("."):
                            stack.append(entry.path)
                    elif not _skipped_file(entry.name):
                        stat = entry.stat()
                        found[Path(entry.path)] = (stat.st_mtime_ns, stat.st_size)
                except OSError:
                    continue
    return found


def changes(before: dict[Path, Stamp], after: dict[Path, Stamp]) -> set[Path]:
    """Files added, removed or modified between two scans."""
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


class Watcher:
    """A daemon thread telling ``on_change`` of the files changed under ``roots()``.

    ``roots`` is called at every walk, so that a template change that adds a function's folder
    is watched from the next walk on: its files as found then are where it starts, not changes
    (and the files of a folder no longer watched are not changes either). ``on_change`` runs on the watcher's thread; an exception
    in it is logged as one line and the watching goes on.
    """

    def __init__(
        self,
        roots: Callable[[], Iterable[Path]],
        on_change: Callable[[set[Path]], None],
        *,
        interval: float = POLL_INTERVAL_S,
        log: Callable[[str], None] = print,
    ) -> None:
        self.roots = roots
        self.on_change = on_change
        self.interval = interval
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reload-watch", daemon=True)
        self._seen: dict[Path, Stamp] = {}
        self._watched: list[Path] = []

    def start(self) -> Watcher:
        self._watched = self._roots()
        self._seen = scan(self._watched)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _roots(self) -> list[Path]:
        return sorted(set(self.roots()))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            roots = self._roots()
            both = [r for r in roots if r in self._watched]
            now = scan(roots)
            changed = {p for p in changes(self._seen, now) if _within(p, both)}
            if not changed:
                self._seen, self._watched = now, roots
                continue
            if self._stop.wait(SETTLE_S):
                return
            now = scan(roots)  # what the save left once it is whole
            changed |= {p for p in changes(self._seen, now) if _within(p, both)}
            self._seen, self._watched = now, roots
            try:
                self.on_change(changed)
            except Exception as exc:  # one bad reload must not end the watching
                self.log(f"reload: failed: {type(exc).__name__}: {exc}")
