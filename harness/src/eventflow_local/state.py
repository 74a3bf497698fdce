"""Where the harness keeps its state, and whether the harness that wrote it still runs.

The state dir holds the event sources' checkpoints, the failure queues, the embedded broker's log
and ``stack.json`` (what a running ``up`` serves, for ``invoke``, plugins and the tests). It lies
beside the template — ``<template folder>/.eventflow-local/``, as ``sam`` keeps ``.aws-sam/``
beside its template — so a project's state stays in that project whatever the working directory.
``--state-dir`` or ``EVENTFLOW_STATE_DIR`` choose another.

A harness killed with SIGKILL leaves its ``stack.json`` behind, and the pid it names may be
reused by any process; ``running_harness`` therefore accepts the file only when that pid is the
harness's ``up`` on this state dir (its command line, where ``/proc`` exists) and its API answers
on the recorded URL, and removes a stale file with one line saying why.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eventflow_local.template.sam import DEFAULT_TEMPLATE

STATE_FILE = "stack.json"
#: the state dir beside a template: ``<template folder>/.eventflow-local/``
STATE_DIR_NAME = ".eventflow-local"


def default_state_dir(template_path: Path | str = DEFAULT_TEMPLATE) -> Path:
    """``<template folder>/.eventflow-local/``, as ``sam`` keeps ``.aws-sam/`` beside the
    template."""
    return Path(template_path).resolve().parent / STATE_DIR_NAME


def resolve_state_dir(
    state_dir: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    template_path: Path | str = DEFAULT_TEMPLATE,
) -> Path:
    """The given directory, else ``EVENTFLOW_STATE_DIR``, else the one beside the template."""
    env = os.environ if environ is None else environ
    chosen = state_dir or env.get("EVENTFLOW_STATE_DIR")
    return Path(chosen).resolve() if chosen else default_state_dir(template_path)


def write_state_file(state_dir: Path, info: Mapping[str, Any]) -> Path:
    """``<state dir>/stack.json``: what a running ``up`` serves (``StackReport.describe``)."""
    path = state_dir / STATE_FILE
    path.write_text(json.dumps(info, indent=2))
    return path


def read_state_file(
    state_dir: Path | str | None = None, template_path: Path | str = DEFAULT_TEMPLATE
) -> dict[str, Any] | None:
    """What a running ``up`` wrote to ``<state dir>/stack.json`` (None if there is none)."""
    path = resolve_state_dir(state_dir, template_path=template_path) / STATE_FILE
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------- is that harness alive?
#: how the harness is started: ``python -m eventflow_local``, ``eventflow-local``
HARNESS_PROGRAMS = frozenset({"eventflow_local", "eventflow-local"})


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # someone else's process: alive, and its command line decides
    except OSError:
        return False
    return True


def _proc_args(pid: int) -> list[str] | None:
    """The process's arguments from ``/proc/<pid>/cmdline``; None where there is no ``/proc``."""
    if not Path("/proc/self/cmdline").exists():
        return None
    for _ in range(5):  # empty while the process is between fork and exec
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return []
        if raw:
            break
        time.sleep(0.02)
    return [a for a in raw.decode(errors="replace").split("\0") if a]


def _harness_for(args: list[str], pid: int, state_dir: Path) -> str | None:
    """None if ``args`` are an ``up`` of the harness on ``state_dir``, else why they are not."""
    if not any(Path(a).name in HARNESS_PROGRAMS for a in args[:3]) or "up" not in args:
        return f"pid {pid} is another program ({' '.join(args)[:80] or 'a kernel thread'})"
    given = None
    for i, arg in enumerate(args):
        if arg == "--state-dir" and i + 1 < len(args):
            given = args[i + 1]
        elif arg.startswith("--state-dir="):
            given = arg.split("=", 1)[1]
    if given is not None:
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            cwd = Path.cwd()
        if (cwd / given).resolve() != state_dir.resolve():
            return f"pid {pid} is a harness on another state dir ({given})"
    return None


def _api_server(url: str, timeout: float = 3.0) -> str | None:
    """The ``Server`` header of what answers on ``url`` ("" for a header-less answer); None
    when nothing answers."""
    import urllib.error  # imported here: urllib.request takes a while, and is rarely needed
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/openapi.json", timeout=timeout) as resp:
            return str(resp.headers.get("Server") or "")
    except urllib.error.HTTPError as exc:
        return str(exc.headers.get("Server") or "")
    except (OSError, ValueError):
        return None


def stale_reason(info: Mapping[str, Any], state_dir: Path) -> str | None:
    """None if the harness that wrote ``info`` still runs for ``state_dir``, else why not.

    After a SIGKILL ``stack.json`` stays behind and its pid may be reused by any process, so a
    live pid is not enough. A harness whose API answers on the recorded URL naming the recorded
    ``instance`` in its ``Server`` header is alive, whatever program runs it (``up``, a test, a
    benchmark). Otherwise the process must be the harness's ``up`` (its command line, where
    ``/proc`` exists) and its API must answer on the recorded URL.
    """
    try:
        pid = int(info.get("pid", 0))
    except (TypeError, ValueError):
        pid = 0
    if pid <= 0:
        return "it names no process"
    if not _pid_alive(pid):
        return f"pid {pid} no longer runs"
    api = info.get("apiUrl")
    instance = str(info.get("instance") or "")
    server = _api_server(str(api)) if api else None
    if instance and server is not None and f"/{instance}" in server.split(" ")[0]:
        return None
    args = _proc_args(pid)
    if args is not None:
        why = _harness_for(args, pid, state_dir)
        if why:
            return why
    if api and server is None:
        return f"pid {pid} does not answer on {api}"
    return None


def running_harness(
    state_dir: Path | str | None = None,
    template_path: Path | str = DEFAULT_TEMPLATE,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """The ``stack.json`` of the harness that runs on this state dir, if one does.

    A stale file (its harness was killed) is removed, with one line saying so.
    """
    directory = resolve_state_dir(state_dir, template_path=template_path)
    info = read_state_file(directory)
    if info is None:
        return None
    why = stale_reason(info, directory)
    if why is None:
        return info
    path = directory / STATE_FILE
    path.unlink(missing_ok=True)
    line = f"removed the stale {path}: {why}"
    if log is not None:
        log(line)
    else:
        print(line, file=sys.stderr, flush=True)
    return None
