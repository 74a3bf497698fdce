"""``-d/--debug-port``: the real command line runs a function under debugpy, and a Debug Adapter
Protocol client (``tests/dap_client.py``, what VS Code's attach does) stops at breakpoints in the
handler and in its layer (``tests/apps/debug_app``: ShoutFunction on python3.13 with a prebuilt
layer, CountFunction on python3.12, both API routes, Timeout 2 s)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.runtime.debugging import DebuggedRuntime, DebugOptions
from eventflow_local.runtime.pythons import installed_interpreters
from eventflow_local.template.specs import FunctionSpec
from tests.dap_client import DapClient
from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parent.parent / "apps" / "debug_app"
HANDLER = APP / "shout" / "app.py"
LAYER = APP / "words" / "python" / "words.py"
COUNT = APP / "count" / "app.py"


def _line(path: Path, marker: str) -> int:
    """The line of ``path`` that carries the comment ``# breakpoint: <marker>``."""
    lines = path.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.endswith(f"# breakpoint: {marker}"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _needs(*versions: str) -> None:
    have = {i.name for i in installed_interpreters()}
    missing = [v for v in versions if v not in have]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed on this machine")


class Harness:
    """``eventflow-local ARGS`` as a running process; its stderr lines are kept as they come."""

    def __init__(self, args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "eventflow_local", *args],
            cwd=APP,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if stdin is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(stdin)
            self.proc.stdin.close()
        self.lines: list[str] = []
        self._cond = threading.Condition()
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, text: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not found):
                    tail = "\n".join(self.lines[-20:])
                    raise AssertionError(
                        f"no line with {text!r} (exit {self.proc.poll()}):\n{tail}"
                    )
                self._cond.wait(min(remaining, 0.5))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def harness(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Any]:
    """``harness(*args, stdin=None)``: the CLI started in the app's folder, with its own state
    dir and the session's broker; stopped after the test."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EVENTFLOW_STATE_DIR", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "PORT")
    }
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    started: list[Harness] = []

    def start(*args: str, stdin: str | None = None) -> Harness:
        run = Harness([*args, "--state-dir", str(tmp_path / "state")], env, stdin)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


def test_invoke_waits_for_the_debugger_and_stops_in_the_handler_and_its_layer(harness: Any) -> None:
    _needs("python3.13")
    port = _free_port()
    # GIVEN `invoke -d PORT` of a function with a layer, on python3.13, Timeout 2 s
    run = harness("invoke", "ShoutFunction", "-d", str(port), "-e", "-", stdin='{"text": "hi"}')
    # WHEN it says the debugger is awaited
    assert run.wait_line("Debugger waiting on") == (
        f"Debugger waiting on 127.0.0.1:{port} for ShoutFunction"
    )
    # AND a debugger attaches with a breakpoint in the handler and one in the layer's module
    handler_line, layer_line = _line(HANDLER, "handler"), _line(LAYER, "layer")
    with DapClient("127.0.0.1", port) as debugger:
        verified = debugger.attach({HANDLER: [handler_line], LAYER: [layer_line]})
        assert all(b["verified"] for found in verified.values() for b in found)
        # THEN the invocation stops at the handler's breakpoint, in the handler's own file
        reason, thread, path, line = debugger.stopped_at()
        assert (reason, Path(path), line) == ("breakpoint", HANDLER, handler_line)
        time.sleep(2.5)  # held past the function's Timeout
        debugger.resume(thread)
        # AND then in the layer's file, where the handler calls it
        reason, thread, path, line = debugger.stopped_at()
        assert (reason, Path(path), line) == ("breakpoint", LAYER, layer_line)
        debugger.resume(thread)
        # AND the invocation ends with its result, not timed out, once let go
        assert run.proc.wait(timeout=60) == 0
    result = json.loads(run.wait_line('"shout"'))
    assert result == {"shout": "HI!", "python": "3.13"}
    summary = run.wait_line("invoke ShoutFunction trigger=cli")
    assert "outcome=ok" in summary
    assert int(summary.split("duration=")[1].split("ms")[0]) > 2000


def test_a_python312_function_is_debugged_in_its_own_python(harness: Any) -> None:
    _needs("python3.12")
    port = _free_port()
    # GIVEN `invoke -d PORT` of a python3.12 function
    run = harness("invoke", "CountFunction", "--debug-port", str(port), "-e", "-", stdin="{}")
    run.wait_line(f"Debugger waiting on 127.0.0.1:{port} for CountFunction")
    # WHEN a debugger attaches with a breakpoint in its handler
    with DapClient("127.0.0.1", port) as debugger:
        debugger.attach({COUNT: [_line(COUNT, "handler")]})
        # THEN it stops there, and the function ran on 3.12
        reason, thread, path, line = debugger.stopped_at()
        assert (reason, Path(path), line) == ("breakpoint", COUNT, _line(COUNT, "handler"))
        debugger.resume(thread)
        assert run.proc.wait(timeout=60) == 0
    assert json.loads(run.wait_line('"words"')) == {"words": 0, "python": "3.12"}


def test_up_debugs_the_named_function_through_the_api_and_leaves_the_other_alone(
    harness: Any,
) -> None:
    _needs("python3.13")
    port, api_port = _free_port(), _free_port()
    # GIVEN `up` with a debug port and the function named by its FunctionName
    run = harness("up", "-p", str(api_port), "-d", str(port), "--debug-function", "shout-words")
    run.wait_line(f"Debugger waiting on 127.0.0.1:{port} for ShoutFunction")
    run.wait_line("Ready.")
    base = f"http://127.0.0.1:{api_port}/Prod"
    # THEN the function not debugged answers at once
    with urllib.request.urlopen(f"{base}/count", timeout=30) as response:
        assert json.loads(response.read())["python"] == "3.12"
    # WHEN the debugged route is called
    answers: list[Any] = []

    def call() -> None:
        request = urllib.request.Request(f"{base}/shout", data=b'{"text": "api"}', method="POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            answers.append((response.status, json.loads(response.read())))

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(1.0)
    # THEN it waits for the debugger (no answer yet) ...
    assert answers == []
    # ... which attaches and stops at the handler's breakpoint
    with DapClient("127.0.0.1", port) as debugger:
        debugger.attach({HANDLER: [_line(HANDLER, "handler")]})
        reason, thread, path, line = debugger.stopped_at()
        assert (reason, Path(path), line) == ("breakpoint", HANDLER, _line(HANDLER, "handler"))
        debugger.resume(thread)
        caller.join(timeout=60)
    # AND the API answers with the handler's result
    assert answers == [(200, {"shout": "API!", "python": "3.13"})]


def test_a_debug_port_taken_after_the_check_is_the_functions_init_error(tmp_path: Path) -> None:
    # GIVEN the debugged function's port taken by someone else by the time its worker starts
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    spec = FunctionSpec("Fn", tmp_path, "app.handler", "python3.11", 3, 128, {}, [])
    lines: list[str] = []
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        runtime = DebuggedRuntime(spec, {}, [], log=lines.append, debug=DebugOptions("Fn", port))
        try:
            # WHEN it starts
            runtime.start()
            error = runtime.wait_ready(timeout=60)
            # THEN its init fails in Lambda's shape, naming the address, and no wait is announced
            assert error is not None and error["errorType"] == "Runtime.DebuggerError"
            assert error["errorMessage"].startswith(
                f"the debugger cannot listen on 127.0.0.1:{port}: "
            )
            assert not any(line.startswith("Debugger waiting") for line in lines)
        finally:
            runtime.stop()


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process this test can see."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_worker_held_for_a_debugger_ends_with_its_harness_killed_outright(
    harness: Any,
) -> None:
    _needs("python3.12")
    port = _free_port()
    # GIVEN an invocation held for a debugger that never comes
    run = harness("invoke", "CountFunction", "-d", str(port), "-e", "-", stdin="{}")
    run.wait_line(f"Debugger waiting on 127.0.0.1:{port} for CountFunction")
    processes = _processes()
    held = {
        pid
        for pid, (parent, cmdline) in processes.items()
        if (parent == run.proc.pid and "runtime/worker.py" in cmdline)
        or f"--port {port} " in cmdline  # debugpy's adapter
    }
    assert len(held) == 2
    # WHEN the harness is killed (no clean stop)
    run.proc.kill()
    run.proc.wait()

    # THEN the worker and debugpy's adapter end too, and the port is free again
    def gone() -> bool:
        return not held & set(_processes())

    wait_for(gone, timeout=20, what="the held worker and adapter to end")
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))
