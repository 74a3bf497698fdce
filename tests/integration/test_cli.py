"""The command line as a user of another project meets it: run in the folder of their
template.yaml, with SAM CLI's flags (``tests/apps/cli_app``: an API function, a plain function,
two parameters, declared environment variables)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.apigw.local_token import auth_headers
from eventflow_local.state import STATE_DIR_NAME, STATE_FILE
from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parent.parent / "apps" / "cli_app"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of the fixture app, so that its state dir is the test's own."""
    target = tmp_path / "app"
    shutil.copytree(APP, target, ignore=shutil.ignore_patterns("__pycache__", STATE_DIR_NAME))
    return target


@pytest.fixture
def cli_env(kafka_bootstrap: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EVENTFLOW_STATE_DIR", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "PORT")
    }
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap  # the session's broker: no start-up wait
    return env


@pytest.fixture
def cli(app: Path, cli_env: dict[str, str]) -> Run:
    """``cli(*args, cwd=app, input=None)``: ``eventflow-local ARGS`` as a process, finished."""

    def run(
        *args: str, cwd: Path = app, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "eventflow_local", *args],
            cwd=cwd,
            env=cli_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=90,
        )

    return run


def _result(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # stdout holds the result JSON and nothing else


def test_invoke_in_the_apps_folder_prints_the_result_alone(cli: Run, app: Path) -> None:
    # WHEN a function is invoked in the app's folder with no event
    done = cli("invoke", "EchoFunction")
    # THEN its result is the only thing on stdout, the event was {}, the logs are on stderr
    result = _result(done)
    assert result == {"prefix": "echo", "event": {}, "env": {"PREFIX": "echo"}}
    assert "[EchoFunction] a log line on stdout of the function" in done.stderr
    # AND the state dir is beside the template
    assert (app / STATE_DIR_NAME).is_dir()


def test_env_vars_parameters_and_paths_work_as_in_sam(cli: Run, app: Path) -> None:
    # GIVEN an env-vars file with values for every function and for HelloFunction
    (app / "env.json").write_text(
        json.dumps(
            {
                "Parameters": {"STAGE": "from-file"},
                "HelloFunction": {"COLOUR": "red", "UNDECLARED": "dropped"},
            }
        )
    )
    # WHEN HelloFunction is invoked from the app's parent folder, naming the template, with the
    # file and both forms of parameter overrides
    done = cli(
        "invoke",
        "-t",
        "app/template.yaml",
        "HelloFunction",
        "-n",
        "app/env.json",
        "--parameter-overrides",
        "Stage=qa",
        "ParameterKey=Greeting,ParameterValue='good day'",
        cwd=app.parent,
    )
    # THEN the parameters reach the template, the file wins for the variables it names,
    # and a variable the template does not declare is not added
    body = json.loads(_result(done)["body"])
    assert body["env"] == {"GREETING": "good day", "STAGE": "from-file", "COLOUR": "red"}
    assert body["message"] == "good day from from-file"
    # AND the code was found beside the template, and the state dir is there too
    assert (app / STATE_DIR_NAME).is_dir()
    assert not (app.parent / STATE_DIR_NAME).exists()


def test_a_function_error_is_the_result_and_a_non_zero_exit(cli: Run) -> None:
    # WHEN a function, named by its FunctionName, gets an event on stdin that makes it raise
    done = cli("invoke", "cli-app-echo", "-e", "-", input='{"fail": "on purpose"}')
    # THEN Lambda's error payload is the result, and the exit code says it failed
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert (error["errorType"], error["errorMessage"]) == (
        "ValueError",
        "asked to fail: on purpose",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invoke", "NoSuchFunction"], "no function NoSuchFunction in template.yaml (functions: "),
        (["invoke"], "name the function to invoke"),
        (["invoke", "EchoFunction", "-e", "missing.json"], "event missing.json: no such file"),
        (["invoke", "EchoFunction", "-e", "bad.json"], "event bad.json: not valid JSON"),
        (["invoke", "EchoFunction", "-n", "bad.json"], "env-vars file bad.json: not valid JSON"),
        (["invoke", "EchoFunction", "--parameter-overrides", "Nope=1"], "Nope is not a parameter"),
        (["invoke", "EchoFunction", "--parameter-overrides", "Stage"], "not a parameter override"),
        (["invoke", "EchoFunction", "-t", "nothere.yaml"], "template nothere.yaml: no such file"),
        (["demo"], "`demo` plays this project's own"),
        (["seed"], "`seed` plays this project's own"),
    ],
)
def test_a_users_mistake_is_one_line_and_exit_code_2(
    cli: Run, app: Path, args: list[str], message: str
) -> None:
    (app / "bad.json").write_text("{not json")
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr  # one line
    assert done.stdout == ""


def test_no_template_in_the_folder_says_where_it_looked(cli: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = cli("invoke", "EchoFunction", cwd=empty)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: no template.yaml in {empty}: run in your template's folder or give -t PATH"
    )


# --------------------------------------------------------------------------------- servers
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve(app: Path, cli_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``serve(*args)`` starts ``eventflow-local ARGS`` in the background (output in a file);
    each is stopped with SIGTERM after the test."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(*args: str) -> tuple[subprocess.Popen[bytes], Path]:
        out = tmp_path / f"serve-{len(started)}.log"
        with open(out, "wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "eventflow_local", *args],
                cwd=app,
                env=cli_env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        started.append((proc, out))
        return proc, out

    try:
        yield start
    finally:
        for proc, _ in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _get(url: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=auth_headers())
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except OSError:
        return 0, None


def test_start_api_serves_the_routes_and_their_functions_only(serve: Callable[..., Any]) -> None:
    # WHEN start-api runs on a port of our choosing
    port = _free_port()
    proc, out = serve("start-api", "-p", str(port), "--parameter-overrides", "Stage=api")
    _, body = wait_for(
        lambda: (r := _get(f"http://127.0.0.1:{port}/hello"))[0] == 200 and r,
        60,
        f"GET /hello on {port}",
    )
    # THEN the route answers through its function, with the parameters given
    assert body["message"] == "hello from api"
    # AND only the API's functions run: no event sources, no other function
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    log = out.read_text()
    assert "HelloFunction" in log and "EchoFunction" not in log


def test_start_api_on_a_port_in_use_is_one_line_and_exit_code_2(cli: Run) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli("start-api", "--port", str(port))
    assert done.returncode == 2
    assert f"error: port {port} is already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_stale_state_file_is_removed_and_a_live_harness_is_shared(
    cli: Run, app: Path, serve: Callable[..., Any]
) -> None:
    # GIVEN a stack.json left by a killed harness whose pid now belongs to another process
    sleeper = subprocess.Popen(["sleep", "60"])
    state = app / STATE_DIR_NAME / STATE_FILE
    state.parent.mkdir()
    state.write_text(json.dumps({"pid": sleeper.pid, "apiUrl": "http://127.0.0.1:9"}))
    try:
        # WHEN `up` starts
        proc, out = serve("up", "--port", "0")
        info = wait_for(
            lambda: (
                state.is_file()
                and json.loads(state.read_text()).get("pid") == proc.pid
                and json.loads(state.read_text())
            ),
            60,
            "up to write its stack.json",
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    # THEN it said in one line that it removed the stale file, and started
    assert f"removed the stale {state}: pid {sleeper.pid} is another program (sleep 60)" in (
        out.read_text()
    )
    # AND invoke uses the running harness's DynamoDB and Kafka
    done = cli("invoke", "EchoFunction")
    assert _result(done)["prefix"] == "echo"
    assert f"using the running stack's DynamoDB and Kafka (pid {proc.pid})" in done.stderr
    # AND a second `up` on the same state dir refuses while the first runs
    again = cli("up", "--port", "0")
    assert again.returncode == 1
    assert f"another harness (pid {proc.pid}) runs with this state dir at {info['apiUrl']}" in (
        again.stderr
    )
    # AND stopping the harness removes its stack.json
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert not state.exists()
