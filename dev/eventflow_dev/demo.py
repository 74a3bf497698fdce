"""``make demo`` (``eventflow-local demo``): the seed's scenarios end to end, through real HTTP and
the real Kafka protocol.

A demo is a list of steps run in order against a started ``Stack``; each step prints what it did
and raises ``DemoFailure`` when what it sees is not what the system promises. ``DEMO_STEPS`` is
the list ``run_demo`` plays: a new scenario appends its steps there.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventflow_local.apigw.local_token import local_token
from eventflow_local.output import Console
from eventflow_local.stack import Stack
from eventflow_local.template.sam import DEFAULT_TEMPLATE

BLOCK_TIMEOUT_S = 45.0


class DemoFailure(AssertionError):
    """The system did not do what the scenario expects."""


def http_json(method: str, url: str, body: Any = None, timeout: float = 35.0) -> tuple[int, Any]:
    """One HTTP request with a JSON body; returns (status, decoded JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    token = local_token()
    if (
        token
    ):  # the write routes need the local API token (see eventflow_local/apigw/local_token.py)
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, (json.loads(raw) if raw else None)


@dataclass
class Demo:
    """What the steps share: the API, a way to print, and what earlier steps created."""

    api_url: str
    log: Callable[[str], None]
    facts: dict[str, Any] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        status, payload = http_json(method, self.api_url + path, body)
        self.log(f"    {method} {path} -> {status}")
        if expect is not None and status != expect:
            raise DemoFailure(f"{method} {path}: expected HTTP {expect}, got {status}: {payload}")
        return payload

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            raise DemoFailure(message)


Step = tuple[str, Callable[[Demo], None]]


# --------------------------------------------------------------------------------- fraud scenario
def create_account(demo: Demo) -> None:
    account = demo.call(
        "POST",
        "/accounts",
        {"name": "AccName1", "number": "Ac12345", "type": "root", "status": "new"},
        expect=201,
    )
    demo.expect(account.get("status") == "new", f"a new account should be 'new': {account}")
    demo.facts["account"] = account
    demo.log(
        f"    account {account['id']} status={account['status']} fraudCount={account.get('fraudCount')}"
    )


def create_transactions(demo: Demo) -> None:
    account_id = demo.facts["account"]["id"]
    created = []
    for n in range(1, 5):
        txn = demo.call(
            "POST",
            "/transactions",
            {"accountId": account_id, "description": f"demo purchase {n}"},
            expect=201,
        )
        demo.expect(
            txn.get("status") == "CREATED",
            f"a transaction of a new account should be CREATED: {txn}",
        )
        created.append(txn)
        demo.log(f"    transaction {txn['id']} status={txn['status']}")
    demo.facts["transactions"] = created


def mark_three_as_fraud(demo: Demo) -> None:
    for txn in demo.facts["transactions"][:3]:
        marked = demo.call("POST", f"/transactions/{txn['id']}/fraud", expect=200)
        demo.expect(
            marked.get("status") == "FRAUD", f"the transaction should now be FRAUD: {marked}"
        )
        demo.log(
            f"    transaction {txn['id']} status={marked['status']} (outbox -> Kafka -> account consumer)"
        )


def wait_until_blocked(demo: Demo) -> None:
    account_id = demo.facts["account"]["id"]
    deadline = time.monotonic() + BLOCK_TIMEOUT_S
    seen = None
    while time.monotonic() < deadline:
        status, account = http_json("GET", f"{demo.api_url}/accounts/{account_id}")
        if status == 200 and (account.get("status"), account.get("fraudCount")) != seen:
            seen = (account.get("status"), account.get("fraudCount"))
            demo.log(f"    account status={seen[0]} fraudCount={seen[1]}")
        if status == 200 and account.get("status") == "blocked":
            demo.expect(
                account.get("fraudCount") == 3, f"blocked at the third fraud, but: {account}"
            )
            demo.facts["account"] = account
            return
        time.sleep(0.5)
    raise DemoFailure(
        f"account {account_id} was not blocked within {BLOCK_TIMEOUT_S:.0f}s (last seen: {seen}); "
        "look at the OutboxRelayFunction and AccountConsumerFunction lines above"
    )


def blocked_account_transactions_fail(demo: Demo) -> None:
    account_id = demo.facts["account"]["id"]
    txn = demo.call(
        "POST",
        "/transactions",
        {"accountId": account_id, "description": "after the block"},
        expect=201,
    )
    demo.expect(
        txn.get("status") == "FAILED", f"a blocked account's transaction should be FAILED: {txn}"
    )
    demo.log(f"    transaction {txn['id']} status={txn['status']}")


def show_account(demo: Demo) -> None:
    account = demo.call("GET", f"/accounts/{demo.facts['account']['id']}", expect=200)
    demo.log(json.dumps(account, indent=2))


FRAUD_STEPS: list[Step] = [
    ("Create an account", create_account),
    ("Create four transactions", create_transactions),
    ("Mark three of them as fraud", mark_three_as_fraud),
    ("Wait for the account consumer to block the account", wait_until_blocked),
    (
        "A new transaction of the blocked account is stored as FAILED",
        blocked_account_transactions_fail,
    ),
    ("The final account", show_account),
]

# --------------------------------------------------------------------------------- earthquakes
QUAKE_RATE = 50
QUAKE_SECONDS = 4


def start_quake_stream(demo: Demo) -> None:
    started = demo.call(
        "POST",
        "/earthquake-events/start",
        {"rate": QUAKE_RATE, "durationSeconds": QUAKE_SECONDS, "magnitudes": "uniform"},
        expect=200,
    )
    demo.log(f"    {started.get('message')}")
    again = demo.call(
        "POST",
        "/earthquake-events/start",
        {"rate": QUAKE_RATE, "durationSeconds": QUAKE_SECONDS, "magnitudes": "uniform"},
        expect=200,
    )
    demo.log(f"    starting again: {again.get('message')}")


def watch_quakes_arrive(demo: Demo) -> None:
    deadline = time.monotonic() + QUAKE_SECONDS + 20
    while time.monotonic() < deadline:
        state = demo.call("GET", "/earthquake-events", expect=200)
        stored = demo.call("GET", "/earthquakes?limit=100", expect=200)
        demo.log(
            f"    running={state.get('running')} emitted={state.get('emitted')} "
            f"stored(first page)={len(stored['items'])}"
        )
        if not state.get("running") and stored["items"]:
            demo.facts["quakes"] = stored["items"]
            return
        time.sleep(1.0)
    raise DemoFailure("the earthquake stream did not run and end within its duration")


def show_quakes_and_alerts(demo: Demo) -> None:
    latest = demo.call("GET", "/earthquakes?limit=3", expect=200)["items"]
    for quake in latest:
        loc = quake.get("location", {})
        demo.log(
            f"    M{quake.get('magnitude')} at ({loc.get('latitude')}, {loc.get('longitude')}) "
            f"depth {quake.get('depthKm')} km, region {quake.get('region')}"
        )
    alerts = demo.call("GET", "/earthquakes/alerts?limit=3", expect=200)["items"]
    demo.log(f"    latest alerts (magnitude >= threshold): {len(alerts)} shown")
    for alert in alerts:
        demo.log(f"      alert M{alert.get('magnitude')} region {alert.get('region')}")
    demo.expect(
        all(float(a.get("magnitude", 0)) >= 6.0 for a in alerts), f"alerts below 6.0: {alerts}"
    )
    stopped = demo.call("POST", "/earthquake-events/stop", expect=200)
    demo.log(f"    stop: {stopped.get('message')}")


QUAKE_STEPS: list[Step] = [
    (f"Start an earthquake stream ({QUAKE_RATE}/s for {QUAKE_SECONDS}s)", start_quake_stream),
    ("Watch the events arrive in GET /earthquakes", watch_quakes_arrive),
    ("The latest earthquakes and alerts; stop reports honestly", show_quakes_and_alerts),
]

#: Every scenario of ``make demo``, in order.
DEMO_STEPS: list[Step] = [*FRAUD_STEPS, *QUAKE_STEPS]


def run_steps(demo: Demo, steps: list[Step]) -> None:
    for number, (title, step) in enumerate(steps, 1):
        demo.log(f"[{number}/{len(steps)}] {title}")
        step(demo)


def run_demo(
    steps: list[Step] | None = None,
    log: Callable[[str], None] | None = None,
    template_path: Path | str = DEFAULT_TEMPLATE,
    parameters: Mapping[str, str] | None = None,
    **engine: Any,
) -> int:
    """Start a stack on free ports with a throw-away state dir, play the steps, stop; 0 if all held.

    ``KAFKA_BOOTSTRAP_SERVERS`` and ``AWS_ENDPOINT_URL(_DYNAMODB)`` are honoured as by ``up``.
    """
    log = log or Console()
    with tempfile.TemporaryDirectory(prefix="eventflow-demo-") as state_dir:
        stack = Stack(
            template_path=template_path,
            parameters=parameters,
            port=0,
            kafka_port=0,
            state_dir=state_dir,
            log=log,
            **engine,  # dynamodb="local" / dynamodb_in_memory (eventflow_local.cli.commands.dynamodb_engine)
        )
        try:
            stack.start()
            log(stack.summary())
            run_steps(Demo(stack.api_url, log), steps or DEMO_STEPS)
        except DemoFailure as exc:
            log(f"DEMO FAILED: {exc}")
            return 1
        finally:
            stack.stop()
    log(
        "Demo passed: the account was blocked at its third fraud; the earthquake stream ran, "
        "stopped, and its events and alerts were stored."
    )
    return 0
