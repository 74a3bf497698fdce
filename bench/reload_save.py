"""Benchmark 6: from saving a handler to the changed answer, beside a restart of the harness.

A small app of its own (written into a temporary folder: one function behind ``GET /hello``, one
that is never edited) runs in a harness with reload on save (a ``Reloader`` on the ``Stack``,
what ``up`` and ``start-api`` start unless ``--no-reload``). The handler's file is saved ``saves`` times
with a new message, half a second apart; each time, ``GET /hello`` is called every 10 ms until
the answer carries the new message, and the time from the write to that answer is kept. The
restart is what a developer without reload does: ``stop()`` the harness, ``start()`` a new
one on the same folder (embedded broker, moto, tables, workers, API), and call ``GET /hello``
until it answers with the saved message; timed ``restarts`` times.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.stats import summary

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 10
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Events:
        Hello:
          Type: Api
          Properties: { Path: /hello, Method: GET }
  QuietFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: quiet/
"""
HANDLER = """\
import json

MESSAGE = {message!r}


def handler(event, context):
    return {{"statusCode": 200, "body": json.dumps({{"message": MESSAGE}})}}
"""
POLL_S = 0.01
GIVE_UP_S = 30.0


def write_app(folder: Path) -> Path:
    for name in ("hello", "quiet"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "app.py").write_text(HANDLER.format(message="start"))
    (folder / "template.yaml").write_text(TEMPLATE)
    return folder / "template.yaml"


def message(api_url: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{api_url}/hello", timeout=10) as resp:
            return str(json.loads(resp.read())["message"])
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None


def until_answer(api_url: str, expected: str, since: float) -> float:
    """Seconds from ``since`` to the first answer carrying ``expected`` (inf past GIVE_UP_S)."""
    while time.perf_counter() - since < GIVE_UP_S:
        if message(api_url) == expected:
            return time.perf_counter() - since
        time.sleep(POLL_S)
    return float("inf")


def run(saves: int = 20, restarts: int = 3, log: Any = print) -> dict[str, Any]:
    from eventflow_local.runtime.reload import Reloader
    from eventflow_local.stack import Stack

    folder = Path(tempfile.mkdtemp(prefix="eventflow-bench-reload-"))
    template = write_app(folder)
    handler = folder / "hello" / "app.py"
    lines: list[str] = []

    def stack() -> Any:
        return Stack(
            template_path=template,
            port=0,
            state_dir=folder / ".state",
            environ={},
            log=lines.append,
        )

    log(f"6. reload on save: {saves} saves, then {restarts} restarts ...")
    running = stack().start()
    reloader = Reloader(running).start()
    reload_s: list[float] = []
    restart_s: list[float] = []
    try:
        assert message(running.api_url) == "start"
        for n in range(saves):
            text = f"save {n}"
            time.sleep(0.5)  # each save its own reload, as a developer saves
            saved = time.perf_counter()
            handler.write_text(HANDLER.format(message=text))
            reload_s.append(until_answer(running.api_url, text, saved))
        for n in range(restarts):  # the same save, applied by stopping and starting again
            text = f"restart {n}"
            handler.write_text(HANDLER.format(message=text))
            begun = time.perf_counter()
            reloader.stop()
            running.stop()
            running = stack().start()
            restart_s.append(until_answer(running.api_url, text, begun))
    finally:
        reloader.stop()
        running.stop()
        shutil.rmtree(folder, ignore_errors=True)
    reload_ms = summary([s * 1000 for s in reload_s])
    return {
        "saves": saves,
        "restarts": restarts,
        "reload_ms": reload_ms,
        "reload_lines": sum(1 for line in lines if line.startswith("reload: ")),
        "restart_s": statistics.median(restart_s) if restart_s else 0.0,
        "restart_runs_s": restart_s,
    }


def headline(data: dict[str, Any]) -> dict[str, float]:
    """The figures of ``docs/benchmarks.json``."""
    if not data:
        return {}
    return {
        "reload_p50_ms": data["reload_ms"]["p50"],
        "reload_p99_ms": data["reload_ms"]["p99"],
        "restart_s": data["restart_s"],
    }


def summary_row(h: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """The summary table's row: save to changed answer beside a restart."""
    if "reload_p50_ms" not in h:
        return None
    value = (
        f"p50 {h['reload_p50_ms']:.0f} ms, p99 {h['reload_p99_ms']:.0f} ms "
        f"(restart {h['restart_s']:.1f} s)"
    )
    return ("Save to changed answer (reload)", value, "~1 s", _met(h))


def _met(h: dict[str, Any]) -> str:
    return (
        "met" if h["reload_p99_ms"] <= 1500 else "not met: a fresh worker imports the changed code"
    )


def section(add: Any, data: dict[str, Any]) -> None:
    """``docs/BENCHMARKS.md``'s section."""
    if not data:
        return
    r = data["reload_ms"]
    add("## 6. Reload on save\n")
    add(
        "A two-function app of the benchmark's own runs with reload on save (what `up` and "
        f"`start-api` do). Its handler is saved {data['saves']} times, half a second apart; "
        "after each save `GET /hello` is called every 10 ms until it answers with the saved "
        "message. The restart is the same save followed by `stop()` and a new `start()` of the "
        "whole harness (broker, moto, workers, API) until the same answer, "
        f"{data['restarts']} times.\n"
    )
    add("| | p50 | p99 | max |")
    add("| --- | --- | --- | --- |")
    add(f"| Save to changed answer | {r['p50']:.0f} ms | {r['p99']:.0f} ms | {r['max']:.0f} ms |")
    runs = ", ".join(f"{s:.1f}" for s in data["restart_runs_s"])
    add(f"| Restart to changed answer (median; runs {runs} s) | {data['restart_s']:.1f} s | | |")
    add(
        f"\nThe harness logged {data['reload_lines']} reload lines for {data['saves']} saves. "
        "The watcher polls every 0.25 s, so a save waits 0.125 s on average before it is seen; "
        "the rest is the fresh worker's import of the handler.\n"
    )
