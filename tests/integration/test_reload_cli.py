"""Reload on save from the command line: ``start-api`` applies a saved handler unless
``--no-reload`` (``eventflow_local/cli/commands.py`` starts the ``Reloader``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parent.parent / "apps" / "reload_app"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _message(port: int) -> Any:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=5) as resp:
            return json.loads(resp.read())["message"]
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _until(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return None


@pytest.mark.parametrize("no_reload", [False, True])
def test_start_api_applies_a_saved_handler_unless_no_reload(
    kafka_bootstrap: str, tmp_path: Path, no_reload: bool
) -> None:
    # GIVEN start-api serving a copy of the app, with or without --no-reload
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "PORT"))}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    port = _free_port()
    args = ["start-api", "-p", str(port), "--state-dir", str(tmp_path / "state")]
    out = tmp_path / "out.log"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eventflow_local",
                *args,
                *(["--no-reload"] if no_reload else []),
            ],
            cwd=app,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        assert _until(lambda: _message(port) == "version 1", 60), out.read_text()

        # WHEN the handler is saved
        handler = app / "hello" / "app.py"
        handler.write_text(handler.read_text().replace("version 1", "version 2"))

        # THEN with reload the next answer carries the change; with --no-reload it does not
        if no_reload:
            time.sleep(1.5)
            assert _message(port) == "version 1"
        else:
            assert _until(lambda: _message(port) == "version 2", 3), out.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    log = out.read_text()
    assert ("Reload on save:" in log) is not no_reload
    assert ("reload: hello/app.py saved" in log) is not no_reload
