"""The state dir lies beside the template, and a stack.json left by a killed harness is stale."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventflow_local.state import (
    STATE_DIR_NAME,
    STATE_FILE,
    default_state_dir,
    resolve_state_dir,
    running_harness,
    stale_reason,
)
from tests.support import ROOT

needs_proc = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="no /proc")


def test_the_state_dir_lies_beside_the_template(tmp_path: Path) -> None:
    # GIVEN another project's template
    template = tmp_path / "app" / "template.yaml"
    # THEN its state dir is in the template's folder, whatever the working folder
    assert default_state_dir(template) == (tmp_path / "app" / STATE_DIR_NAME).resolve()
    assert resolve_state_dir(None, {}, template) == (tmp_path / "app" / STATE_DIR_NAME).resolve()
    # AND this repository's own template is no exception: the harness knows no project
    assert default_state_dir(ROOT / "template.yaml") == ROOT / STATE_DIR_NAME
    # AND --state-dir, then EVENTFLOW_STATE_DIR, choose another
    env = {"EVENTFLOW_STATE_DIR": str(tmp_path / "env")}
    assert resolve_state_dir(None, env, template) == tmp_path / "env"
    assert resolve_state_dir(tmp_path / "flag", env, template) == tmp_path / "flag"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FAKE_HARNESS = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404); self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
"""


@pytest.fixture
def fake_harness(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A process whose command line is ``eventflow-local up PORT`` and that answers HTTP there."""
    script = tmp_path / "bin" / "eventflow-local"
    script.parent.mkdir()
    script.write_text(FAKE_HARNESS)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(script), "up", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield proc.pid, url
    finally:
        proc.kill()
        proc.wait()


def _write_state(state_dir: Path, pid: int, api: str | None = "http://127.0.0.1:9") -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    path.write_text(json.dumps({"pid": pid, "apiUrl": api}))
    return path


@needs_proc
def test_a_pid_reused_by_another_process_is_stale(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    # GIVEN a stack.json naming a live process that is not a harness
    path = _write_state(tmp_path, sleeper.pid)
    lines: list[str] = []
    # WHEN the running harness is looked for
    found = running_harness(tmp_path, log=lines.append)
    # THEN there is none, the file is gone, and one line says why
    assert found is None
    assert not path.exists()
    assert len(lines) == 1
    assert "removed the stale" in lines[0] and "another program (sleep 60)" in lines[0]


def test_a_dead_pid_is_stale(tmp_path: Path) -> None:
    path = _write_state(tmp_path, _dead_pid())
    lines: list[str] = []
    assert running_harness(tmp_path, log=lines.append) is None
    assert not path.exists()
    assert len(lines) == 1 and "no longer runs" in lines[0]


@needs_proc
def test_a_live_harness_that_answers_is_running(
    tmp_path: Path, fake_harness: tuple[int, str]
) -> None:
    # GIVEN a stack.json naming a harness `up` that answers on its URL
    pid, url = fake_harness
    path = _write_state(tmp_path, pid, url)
    lines: list[str] = []
    # THEN it is the running harness and the file stays
    found = running_harness(tmp_path, log=lines.append)
    assert found is not None and found["pid"] == pid
    assert path.exists() and lines == []


@needs_proc
def test_a_harness_that_does_not_answer_on_the_recorded_url_is_stale(
    tmp_path: Path, fake_harness: tuple[int, str]
) -> None:
    pid, _ = fake_harness
    reason = stale_reason({"pid": pid, "apiUrl": f"http://127.0.0.1:{_free_port()}"}, tmp_path)
    assert reason is not None and "does not answer" in reason


@needs_proc
def test_a_harness_on_another_state_dir_is_not_this_one(tmp_path: Path) -> None:
    # GIVEN a process `eventflow-local up --state-dir other` (its command line is all that counts)
    script = tmp_path / "eventflow-local"
    script.write_text("import time; time.sleep(60)")
    proc = subprocess.Popen(
        [sys.executable, str(script), "up", "--state-dir", str(tmp_path / "other")]
    )
    try:
        reason = stale_reason({"pid": proc.pid, "apiUrl": None}, tmp_path / "mine")
        same = stale_reason({"pid": proc.pid, "apiUrl": None}, tmp_path / "other")
    finally:
        proc.kill()
        proc.wait()
    assert reason is not None and "another state dir" in reason
    assert same is None


def test_no_state_file_means_no_harness(tmp_path: Path) -> None:
    assert running_harness(tmp_path / "empty", log=print) is None
    assert os.listdir(tmp_path) == []


def test_a_harness_run_by_any_program_is_alive_when_its_api_names_its_instance(tmp_path):
    # GIVEN a stack.json written by a stack run inside this very process (a test, a benchmark)
    from eventflow_local.httpserver import HttpService

    class Answering(HttpService):
        def handle(self, req):
            req.send_response(404)
            req.send_header("Content-Length", "0")
            req.end_headers()

    server = Answering("127.0.0.1", 0, instance="abc123")
    server.start()
    try:
        info = {"pid": os.getpid(), "apiUrl": server.url, "instance": "abc123"}
        # THEN it is not stale, although the process is not `up`
        assert stale_reason(info, tmp_path) is None
        # AND a server naming another instance does not stand for it
        assert stale_reason({**info, "instance": "other"}, tmp_path) is not None
    finally:
        server.stop()
