"""``up --dynamodb local``: this project's stack on AWS's DynamoDB Local, stopped with Ctrl-C and
started again, as a user does it: the data is still there, nothing is counted or published twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_dev.demo import http_json
from eventflow_local.apigw.local_token import auth_headers
from eventflow_local.state import STATE_FILE
from tests.integration.faults import read_all, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "transaction-service-topic"
UP = [sys.executable, "-m", "eventflow_local", "up", "--dynamodb", "local", "--port", "0"]


class Up:
    """``python -m eventflow_local up --dynamodb local`` in the background, stopped with SIGINT (Ctrl-C)."""

    def __init__(self, state_dir: Path, log_path: Path) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_ENDPOINT_URL")
            and k not in ("KAFKA_BOOTSTRAP_SERVERS", "EVENTFLOW_STATE_DIR", "PORT")
        }
        self.log_path = log_path
        with open(log_path, "wb") as sink:
            self.proc = subprocess.Popen(
                [*UP, "--state-dir", str(state_dir)],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        state = state_dir / STATE_FILE

        def ready() -> dict[str, Any] | None:
            assert self.proc.poll() is None, self.output()
            if "Ready." not in self.output() or not state.is_file():
                return None
            return dict(json.loads(state.read_text()))

        self.info = wait_for(ready, 180, "up to be ready")
        self.api = str(self.info["apiUrl"])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, payload = http_json(method, self.api + path, body)
        assert status == expect, f"{method} {path} -> {status}: {payload}"
        return payload

    def ctrl_c(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(60) == 0, self.output()
        return self.output()


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Any]:
    started: list[Up] = []

    def start() -> Up:
        run = Up(tmp_path / "state", tmp_path / f"up-{len(started)}.log")
        started.append(run)
        return run

    try:
        yield start
    finally:
        for run in started:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


def fraud_count(run: Up, account_id: str) -> int:
    return int(run.call("GET", f"/accounts/{account_id}")["fraudCount"])


def test_the_data_survives_ctrl_c_and_nothing_is_counted_or_published_twice(up: Any) -> None:
    assert (
        auth_headers()
    )  # the protected routes take the local token (dev/eventflow_dev/demo.py sends it)
    # GIVEN `up --dynamodb local` with an account, two transactions and one fraud counted
    first = up()
    account = first.call("POST", "/accounts", {"name": "Kept", "number": uuid.uuid4().hex[:8]}, 201)
    txns = [first.call("POST", "/transactions", {"accountId": account["id"]}, 201) for _ in "ab"]
    first.call("POST", f"/transactions/{txns[0]['id']}/fraud")
    wait_for(lambda: fraud_count(first, account["id"]) == 1, 60, "the first fraud counted")

    # WHEN Ctrl-C stops it and it starts again
    stopped = first.ctrl_c()
    assert "kafka: 1 records and 1 consumer groups saved" in stopped
    second = up()
    assert "kafka: 1 records and the offsets of 1 consumer groups restored" in second.output()

    # THEN the account, its transactions and the count are still there
    assert second.call("GET", f"/accounts/{account['id']}")["name"] == "Kept"
    assert second.call("GET", f"/transactions/{txns[0]['id']}")["status"] == "FRAUD"
    # AND the relay resumed after what it had published, the consumer after what it had counted
    second.call("GET", "/accounts")  # let the pollers run a while
    records = read_all(second.info["bootstrapServers"], TOPIC)
    assert [json.loads(r.value)["id"] for r in records] == [txns[0]["id"]]
    assert fraud_count(second, account["id"]) == 1
    # AND a fraud after the restart is published after the old record and counted once
    second.call("POST", f"/transactions/{txns[1]['id']}/fraud")
    wait_for(lambda: fraud_count(second, account["id"]) == 2, 60, "the second fraud counted")
    records = read_all(second.info["bootstrapServers"], TOPIC)
    assert [json.loads(r.value)["id"] for r in records] == [t["id"] for t in txns]
    assert sorted(r.offset for r in records) == [0, 1]  # one partition (keyed by account)
    log = second.ctrl_c()
    assert "invoke OutboxRelayFunction" in log
    assert log.count("invoke AccountConsumerFunction") == 1
