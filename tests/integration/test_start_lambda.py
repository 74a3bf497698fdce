"""``eventflow-local start-lambda`` as a test suite meets it (``sam local start-lambda``): the real
command in the background, then boto3's Lambda client pointed at it invokes the functions of
``tests/apps/invoke_app`` by name, synchronously and as events; an unknown name is the
``ResourceNotFoundException`` botocore raises for AWS's."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from eventflow_local.state import STATE_DIR_NAME
from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parent.parent / "apps" / "invoke_app"
COMMAND = (sys.executable, "-m", "eventflow_local", "start-lambda")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """``start-lambda -p PORT --parameter-overrides Greeting=howdy`` in a copy of the app; the
    port and the file its output goes to."""
    app = tmp_path_factory.mktemp("start-lambda") / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", STATE_DIR_NAME))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EVENTFLOW_STATE_DIR", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")
    }
    port = _free_port()
    out = app.parent / "start-lambda.log"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [*COMMAND, "-p", str(port), "--parameter-overrides", "Greeting=howdy"],
            cwd=app,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for(lambda: "Ready." in out.read_text() or proc.poll() is not None, 90, "Ready.")
        assert proc.poll() is None, out.read_text()
        yield port, out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_banner_names_the_endpoint_and_what_is_not_started(served: tuple[int, Path]) -> None:
    # GIVEN start-lambda on a port of our choosing, for a template that names no Kafka
    port, out = served
    log = out.read_text()
    # THEN the banner names the Invoke API on that port, says pollers and the API do not run,
    # and no broker was started for a template without Kafka
    assert f"  Lambda       http://127.0.0.1:{port}   (Invoke API" in log
    assert "Not started  event source pollers, schedules and the API" in log
    assert "  Kafka        -   (not started)" in log
    assert "  API " not in log


def test_request_response_returns_the_payload_and_a_function_error(
    served: tuple[int, Path],
) -> None:
    port, _ = served
    client = _client("lambda", f"http://127.0.0.1:{port}")
    # WHEN the greeter is invoked by its FunctionName and then by its logical id without a name
    ok = client.invoke(FunctionName="invoke-app-greet", Payload=json.dumps({"name": "Ada"}))
    failed = client.invoke(FunctionName="GreetFunction", Payload=b"{}")
    # THEN the first answers 200 with the function's result, with the parameter override applied
    assert ok["StatusCode"] == 200
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["message"] == "howdy, Ada"
    # AND the second answers 200 with FunctionError and Lambda's error payload
    assert failed["StatusCode"] == 200
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "no name to greet"


def test_an_event_invocation_answers_202_and_runs_the_function(served: tuple[int, Path]) -> None:
    port, out = served
    client = _client("lambda", f"http://127.0.0.1:{port}")
    # WHEN a note is sent as an Event invocation
    answer = client.invoke(
        FunctionName="NoteFunction",
        InvocationType="Event",
        Payload=json.dumps({"id": "n-202", "text": "later"}),
    )
    # THEN Lambda's 202 comes back at once, with a request id and no payload
    assert answer["StatusCode"] == 202
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert answer["Payload"].read() == b""
    # AND the function runs: the note is in the template's table on the embedded emulator
    dynamodb_url = re.search(r"  DynamoDB     (\S+)", out.read_text())
    assert dynamodb_url, out.read_text()
    dynamodb = _client("dynamodb", dynamodb_url.group(1))
    (table,) = dynamodb.list_tables()["TableNames"]
    wait_for(
        lambda: dynamodb.get_item(TableName=table, Key={"id": {"S": "n-202"}}).get("Item"),
        20,
        "the note in the table",
    )


def test_an_unknown_function_is_resource_not_found(served: tuple[int, Path]) -> None:
    port, _ = served
    client = _client("lambda", f"http://127.0.0.1:{port}")
    # WHEN a name the template does not have is invoked
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
    # THEN botocore raises Lambda's ResourceNotFoundException, a 404 naming the function
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "NoSuchFunction" in raised.value.response["Error"]["Message"]


def test_a_port_in_use_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", STATE_DIR_NAME))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*COMMAND, "--port", str(port)],
            cwd=app,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: port {port} is already in use: pick another with --port N"
    )
