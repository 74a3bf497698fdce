"""``start-api`` in a SAM project takes its port and parameters from the project's samconfig.toml,
as ``sam local start-api`` does, and a malformed file stops it with one line."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration import test_cli as cli_tests
from tests.integration.faults import wait_for
from tests.integration.test_cli import Run, _free_port, _get

pytestmark = pytest.mark.integration

# the command line tests' fixtures: a copy of tests/apps/cli_app, its environment, the runners
app, cli_env, cli, serve = cli_tests.app, cli_tests.cli_env, cli_tests.cli, cli_tests.serve


def test_start_api_takes_its_port_and_parameters_from_samconfig(
    serve: Callable[..., Any], app: Path
) -> None:
    # GIVEN the app's samconfig.toml with a port and a parameter override for start-api
    port = _free_port()
    (app / "samconfig.toml").write_text(
        "version = 0.1\n"
        "[default.local_start_api.parameters]\n"
        f"port = {port}\n"
        "parameter_overrides = \"Stage=samconfig Greeting='good day'\"\n"
    )
    # WHEN start-api runs in the app's folder with no flags
    proc, _ = serve("start-api")
    _, body = wait_for(
        lambda: (r := _get(f"http://127.0.0.1:{port}/hello"))[0] == 200 and r,
        60,
        f"GET /hello on the samconfig.toml port {port}",
    )
    # THEN it serves on that port, the template's parameters set from the file
    assert body["message"] == "good day from samconfig"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_a_malformed_samconfig_stops_the_command_with_one_line(cli: Run, app: Path) -> None:
    (app / "samconfig.toml").write_text("version = 0.1\n[default.local_invoke.parameters\n")
    done = cli("invoke", "EchoFunction")
    assert done.returncode == 2
    assert done.stderr.startswith("error: samconfig.toml: not valid TOML: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
