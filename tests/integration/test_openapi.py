"""``/openapi.json`` is built by the functions' own workers, never by importing their code here.

The worker answers a describe request (``{"describe": "openapi", ...}``) with the document of the
handler module's resolver, ``null`` without one, or an error; it is not an invocation. The first
tests drive ``FunctionRuntime.openapi`` on small handlers written to a temporary folder (run by
the harness's own Python, no packages needed); the last one starts the fixture app
``tests/apps/openapi_app`` (a real Powertools resolver) and reads ``/openapi.json`` over HTTP.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.runtime.environment import lambda_environment
from eventflow_local.runtime.functions import DescribeError, FunctionRuntime
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.sam import SamTemplate

pytestmark = pytest.mark.integration

APPS = Path(__file__).resolve().parent.parent / "apps"
TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: app.handler
      CodeUri: fn/
      Timeout: 5
      Environment:
        Variables:
          SERVICE: catalogue
"""
PLAIN = """
import time


def handler(event, context):
    print("handling", event.get("action"))
    if event.get("action") == "nap":
        time.sleep(float(event.get("seconds", 0.8)))
    return {"ok": True}
"""
DESCRIBED = """
import os
import time


class Resolver:
    def get_openapi_schema(self, *, title, version):
        print("describing")
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "paths": {"/things": {"get": {"responses": {"200": {"description": "ok"}}}}},
            "x-built-by": {"pid": os.getpid(), "service": os.environ.get("SERVICE")},
        }


app = Resolver()


def handler(event, context):
    print("handling", event.get("action"))
    if event.get("action") == "nap":
        time.sleep(float(event.get("seconds", 0.8)))
    return {"pid": os.getpid()}
"""
RAISING = """
class Resolver:
    def get_openapi_schema(self, **options):
        raise ValueError("no schema today")


app = Resolver()


def handler(event, context):
    return {"ok": True}
"""


@pytest.fixture
def function(tmp_path: Path) -> Iterator[Callable[[str], tuple[FunctionRuntime, list[Any]]]]:
    """``function(code)``: a started ``FunctionRuntime`` of ``fn/app.py`` = code, with its log
    lines and the invocations its recorder was told of."""
    runtimes: list[FunctionRuntime] = []

    def make(code: str) -> tuple[FunctionRuntime, list[Any]]:
        (tmp_path / "fn").mkdir()
        (tmp_path / "fn" / "app.py").write_text(code)
        (tmp_path / "template.yaml").write_text(TEMPLATE)
        spec = SamTemplate(tmp_path / "template.yaml").functions()["Fn"]
        seen: list[Any] = []
        runtime = FunctionRuntime(
            spec, lambda_environment(spec, region="us-east-1"), [], log=seen.append
        )
        runtime.recorder = lambda *args: seen.append(args)
        runtime.start()
        runtimes.append(runtime)
        return runtime, seen

    try:
        yield make
    finally:
        for runtime in runtimes:
            runtime.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def invocation_records(seen: list[Any]) -> list[Any]:
    """What was said of invocations: summary lines and the recorder's calls."""
    return [s for s in seen if not isinstance(s, str) or s.startswith("invoke ")]


def test_a_function_without_a_resolver_answers_null_and_it_is_not_an_invocation(function):
    # GIVEN a plain handler, warm
    runtime, seen = function(PLAIN)
    assert runtime.wait_ready() is None

    # WHEN it is asked for its OpenAPI document
    document = runtime.openapi("Catalogue", "1.0.0")

    # THEN it has none, and nothing counts as an invocation
    assert document is None
    assert runtime.invocations == 0 and invocation_records(seen) == []
    assert runtime.environments == 1


def test_a_resolver_describes_itself_in_the_function_worker_without_counting(function):
    # GIVEN a handler module whose `app` describes itself, and prints while doing it
    runtime, seen = function(DESCRIBED)
    pid = runtime.invoke({"action": "hello"}).payload["pid"]
    seen.clear()

    # WHEN it is asked for its document, then invoked
    document = runtime.openapi("Catalogue", "2.0.0")
    after = runtime.invoke({"action": "after"})

    # THEN the document comes from the warm worker, with the function's environment
    assert document is not None
    assert document["info"] == {"title": "Catalogue", "version": "2.0.0"}
    assert list(document["paths"]) == ["/things"]
    assert document["x-built-by"] == {"pid": pid, "service": "catalogue"}
    assert pid != os.getpid() and after.payload["pid"] == pid
    # and what it printed is logged but is not the next invocation's log
    assert "[Fn] describing" in seen
    assert after.logs == ("handling after",)
    # and only the real invocation was counted and recorded
    assert runtime.invocations == 2
    records = invocation_records(seen)
    assert len(records) == 2 and records[0].startswith("invoke Fn trigger=direct")
    assert records[1][0] == "Fn" and isinstance(records[1][3], InvocationResult)


def test_a_raising_resolver_is_one_clear_error_and_the_worker_stays_warm(function):
    # GIVEN a module whose get_openapi_schema raises
    runtime, seen = function(RAISING)
    assert runtime.wait_ready() is None

    # WHEN it is asked for its document
    with pytest.raises(DescribeError) as raised:
        runtime.openapi("Catalogue", "1.0.0")

    # THEN the error is one line naming the exception and where it was raised
    message = str(raised.value)
    assert message == "ValueError: no schema today (app.py, line 4)"
    # and the worker is still the one warm environment, and nothing counted as an invocation
    assert runtime.environments == 1 and runtime.invocations == 0
    assert invocation_records(seen) == []
    assert runtime.invoke({}).ok


def test_a_busy_function_is_waited_for_and_not_scaled_out(function):
    # GIVEN a function whose only worker is busy with an invocation
    runtime, seen = function(DESCRIBED)
    runtime.invoke({"action": "hello"})
    busy = threading.Thread(target=runtime.invoke, args=({"action": "nap", "seconds": 0.8},))
    busy.start()
    wait_for(lambda: "[Fn] handling nap" in seen)  # the invocation has the worker

    # WHEN it is asked for its document meanwhile
    document = runtime.openapi("Catalogue", "1.0.0")
    busy.join()

    # THEN the answer waited for that worker: no second environment was started for it
    assert document is not None
    assert runtime.environments == 1


def test_a_function_busy_past_the_timeout_is_a_clear_error(function):
    # GIVEN a function whose only worker is busy for longer than the describe timeout
    runtime, seen = function(DESCRIBED)
    runtime.invoke({"action": "hello"})
    busy = threading.Thread(target=runtime.invoke, args=({"action": "nap", "seconds": 1.5},))
    busy.start()
    wait_for(lambda: "[Fn] handling nap" in seen)

    # WHEN it is asked for its document with a short timeout
    with pytest.raises(DescribeError) as raised:
        runtime.openapi("Catalogue", "1.0.0", timeout=0.3)
    busy.join()

    # THEN it says so, and still no environment was started for it
    assert str(raised.value) == "no execution environment was free within 0.3 s"
    assert runtime.environments == 1


# ------------------------------------------------------------------------- the whole stack
def _imported_here(folder: Path) -> list[str]:
    """Modules of this process loaded from ``folder``."""
    names = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(folder):
            names.append(name)
    return names


def test_openapi_json_is_built_without_importing_user_code_into_the_harness(run_app, tmp_path):
    # GIVEN the fixture app: a Powertools resolver whose module marks every process importing it,
    # a plain handler and a resolver that raises
    marker = tmp_path / "imported-by.txt"
    stack = run_app("openapi_app", parameters={"ImportMarker": str(marker)}, event_sources=False)
    environ, path = dict(os.environ), list(sys.path)

    # WHEN /openapi.json is read
    with urllib.request.urlopen(stack.api_url + "/openapi.json", timeout=60) as resp:
        doc = json.loads(resp.read())

    # THEN it holds the routed paths of the documented function (not the one it is not routed to)
    assert sorted(doc["paths"]) == ["/items", "/items/{item_id}"]
    assert "Item" in doc["components"]["schemas"]
    assert doc["paths"]["/items/{item_id}"]["get"]["parameters"][0]["schema"]["maxLength"] == 64
    # and the app's title and description, from the template's Description
    assert doc["info"]["title"] == "Item catalogue"
    assert doc["info"]["description"].startswith("Item catalogue: OpenAPI built by the functions")
    assert doc["servers"] == [{"url": stack.api_url}]
    # and the resolver that raises is one line, its routes left out
    assert (
        "openapi: BrokenFunction: RuntimeError: the schema cannot be built today (app.py, line 6); "
        "its routes are left out of /openapi.json"
    ) in stack.lines
    # and only the function's own worker imported its module: the harness's process did not
    importers = {int(pid) for pid in marker.read_text().split()}
    assert importers and os.getpid() not in importers
    assert _imported_here(APPS / "openapi_app") == []
    assert "OPENAPI_APP_IMPORTED" not in os.environ
    assert dict(os.environ) == environ and sys.path == path
    # and describing was not invoking
    assert not any(line.startswith("invoke ") for line in stack.lines)
    assert all(runtime.invocations == 0 for runtime in stack.runtimes.values())
