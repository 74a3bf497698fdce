"""What the console's tests share: the template's stack with the fraud demo played, and HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventflow_dev.demo import FRAUD_STEPS, Demo, run_steps
from eventflow_local.stack import Stack

CONSOLE = "/_console"


def request(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def get_json(url: str) -> Any:
    status, _, raw = request("GET", url)
    assert status == 200, (url, status, raw[:500])
    return json.loads(raw)


@contextmanager
def template_stack(state_dir: Path, *, fraud_demo: bool = True) -> Iterator[tuple[Stack, dict]]:
    """The project's template on free ports with its own broker and DynamoDB; with the fraud
    demo played (an account, four transactions, three marked as fraud, the account blocked)."""
    stack = Stack(port=0, kafka_port=0, state_dir=state_dir, log=lambda line: None)
    stack.start()
    try:
        demo = Demo(stack.api_url, lambda line: None)
        if fraud_demo:
            run_steps(demo, FRAUD_STEPS[:4])
        yield stack, demo.facts
    finally:
        stack.stop()
