"""Reload on save: a saved handler, requirements.txt or template is used while the harness runs.

The fixture app ``tests/apps/reload_app`` is copied into the test's own folder and edited there
while a stack started with ``reload=True`` serves it (``eventflow_local/runtime/reload.py``).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parent.parent / "apps" / "reload_app"
HELLO = 'MESSAGE = "version 1"'


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    target = tmp_path / "reload_app"
    shutil.copytree(APP, target)
    return target


@pytest.fixture
def start(kafka_bootstrap: str, tmp_path: Path, app_copy: Path) -> Iterator[Callable[..., Any]]:
    from eventflow_local.runtime.reload import Reloader
    from eventflow_local.stack import Stack

    started: list[Any] = []
    reloaders: list[Reloader] = []

    def run(reload: bool, **options: Any) -> Any:
        """The stack started, with a ``Reloader`` as ``up`` starts one unless ``--no-reload``."""
        lines: list[str] = []

        def log(line: str) -> None:
            lines.append(line)
            print(line)

        stack = Stack(
            template_path=app_copy / "template.yaml",
            bootstrap_servers=kafka_bootstrap,
            log=log,
            port=0,
            environ={},
            state_dir=tmp_path / "state",
            **options,
        )
        stack.lines = lines  # type: ignore[attr-defined]
        started.append(stack)
        stack.start()
        if reload:
            reloaders.append(Reloader(stack).start())
        return stack

    try:
        yield run
    finally:
        for reloader in reloaders:
            reloader.stop()
        for stack in started:
            stack.stop()


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def lambda_invoke(stack: Any, function: str) -> tuple[str | None, Any]:
    """(X-Amz-Function-Error, payload) of a RequestResponse Invoke through the Lambda API."""
    request = urllib.request.Request(
        f"{stack.lambda_api.url}/2015-03-31/functions/{function}/invocations",
        data=b"{}",
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as resp:
        return resp.headers.get("X-Amz-Function-Error"), json.loads(resp.read())


def save(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def wait_for(check: Callable[[], Any], timeout: float) -> tuple[Any, float]:
    """The first truthy ``check()`` and the seconds it took (the last value past ``timeout``)."""
    started = time.monotonic()
    while True:
        value = check()
        took = time.monotonic() - started
        if value or took > timeout:
            return value, took
        time.sleep(0.05)


def test_a_saved_handler_answers_at_once_and_the_other_function_keeps_its_worker(
    start: Callable[..., Any], app_copy: Path
) -> None:
    # GIVEN the app running with reload on, both functions answered once
    stack = start(reload=True)
    status, first = get(f"{stack.api_url}/hello")
    assert (status, first["message"]) == (200, "version 1")
    _, other = get(f"{stack.api_url}/other")

    # WHEN the handler's file is saved with a new message
    save(app_copy / "hello" / "app.py", HELLO, 'MESSAGE = "version 2"')

    # THEN the API answers with it within about a second, from a fresh worker, without restart
    answer, took = wait_for(lambda: get(f"{stack.api_url}/hello")[1]["message"] == "version 2", 3)
    assert answer, "the saved handler was not used"
    assert took < 2.0
    assert get(f"{stack.api_url}/hello")[1]["pid"] != first["pid"]
    # AND the function that did not change kept its warm worker
    assert get(f"{stack.api_url}/other")[1]["pid"] == other["pid"]
    # AND the reload is one line of the log and an entry of the console's activity
    lines = [line for line in stack.lines if line.startswith("reload: ")]
    assert lines == [
        "reload: hello/app.py saved: new code for HelloFunction from the next invocation"
    ]
    entries = [i for i in stack.activity.latest(20) if i["trigger"] == "reload"]
    assert [e["function"] for e in entries] == ["HelloFunction"]


def test_a_syntax_error_answers_as_lambda_does_until_a_save_fixes_it(
    start: Callable[..., Any], app_copy: Path
) -> None:
    # GIVEN the app running with reload on
    stack = start(reload=True)
    assert get(f"{stack.api_url}/hello")[0] == 200
    handler = app_copy / "hello" / "app.py"

    # WHEN the handler is saved with a syntax error
    save(handler, HELLO, 'MESSAGE = "version 1" +')

    # THEN the API answers 502 as API Gateway does for a Lambda error, and the Lambda Invoke
    # API gives Lambda's Runtime.UserCodeSyntaxError, while the other function still answers
    status, _ = wait_for(lambda: get(f"{stack.api_url}/hello")[0] == 502, 3)
    assert status
    error, payload = lambda_invoke(stack, "HelloFunction")
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.UserCodeSyntaxError"
    assert payload["errorMessage"].startswith("Syntax error in module 'app': invalid syntax")
    assert "(app.py, line 4)" in payload["errorMessage"]
    assert get(f"{stack.api_url}/other")[0] == 200

    # AND WHEN the module imports a package the function does not have
    handler.write_text(
        "import not_installed_anywhere\n\ndef handler(event, context):\n    return 1\n"
    )
    _, payload = wait_for(
        lambda: (
            lambda_invoke(stack, "HelloFunction")[1].get("errorType") == "Runtime.ImportModuleError"
        ),
        3,
    )
    assert payload
    assert lambda_invoke(stack, "HelloFunction")[1]["errorMessage"] == (
        "Unable to import module 'app': No module named 'not_installed_anywhere'"
    )

    # AND WHEN a save fixes it, the function answers again
    shutil.copy(APP / "hello" / "app.py", handler)
    fixed, _ = wait_for(lambda: get(f"{stack.api_url}/hello")[0] == 200, 3)
    assert fixed


def test_a_saved_requirements_txt_rebuilds_in_the_background(
    start: Callable[..., Any], app_copy: Path
) -> None:
    # GIVEN a function whose requirements name nothing yet
    stack = start(reload=True, api=False)
    assert stack.invoke("PackagesFunction", {}).payload == {"fastjsonschema": False}

    # WHEN its requirements.txt is saved with a package
    (app_copy / "packages" / "requirements.txt").write_text("fastjsonschema\n")

    # THEN the harness says it builds in the background, then that it is built, and the
    # package is importable from the next invocation on
    built, _ = wait_for(
        lambda: any("reload: built PackagesFunction" in x for x in stack.lines), 120
    )
    assert built, stack.lines
    started = [x for x in stack.lines if "building PackagesFunction in the background" in x]
    assert started == [
        "reload: packages/requirements.txt saved: building PackagesFunction in the background; "
        "the running workers serve until it is done"
    ]
    assert stack.invoke("PackagesFunction", {}).payload == {"fastjsonschema": True}


def test_a_saved_template_applies_a_new_environment_and_route_and_names_what_needs_a_restart(
    start: Callable[..., Any], app_copy: Path
) -> None:
    # GIVEN the app running with reload on
    stack = start(reload=True)
    template = app_copy / "template.yaml"
    assert get(f"{stack.api_url}/hello")[1]["greeting"] == "hello"

    # WHEN the template is saved with another variable value, a moved route and a Globals change
    text = template.read_text().replace("GREETING: hello", "GREETING: bonjour")
    text = text.replace("Path: /other,", "Path: /autre,")
    globals_table = "Globals:\n  SimpleTable:\n    SSESpecification: { SSEEnabled: true }\n"
    template.write_text(text.replace("Globals:\n", globals_table))

    # THEN once the reload's line is said (it is said when all is applied: the new settings
    # reach the function before its routes move), the function runs with the new value, the
    # route moved, and the Globals change is named for a restart
    said, _ = wait_for(lambda: any(x.startswith("reload: template.yaml") for x in stack.lines), 3)
    assert said
    assert get(f"{stack.api_url}/hello")[1]["greeting"] == "bonjour"
    assert get(f"{stack.api_url}/autre")[0] == 200
    assert get(f"{stack.api_url}/other")[0] == 403
    lines = [x for x in stack.lines if x.startswith("reload: template.yaml")]
    assert lines == [
        "reload: template.yaml saved: applied: HelloFunction settings; "
        "route GET /autre added; route GET /other removed. "
        "restart to apply: Globals.SimpleTable changed"
    ]

    # AND WHEN the template no longer reads, one line says so and the stack runs on
    template.write_text(template.read_text() + "\n  Broken: [unclosed\n")
    said, _ = wait_for(lambda: any("template.yaml not applied" in x for x in stack.lines), 3)
    assert said
    assert get(f"{stack.api_url}/hello")[1]["greeting"] == "bonjour"


def test_a_new_function_in_the_template_is_reachable_through_the_lambda_api(
    start: Callable[..., Any], app_copy: Path
) -> None:
    # GIVEN the app running with reload on
    stack = start(reload=True)

    # WHEN a function is added to the template
    template = app_copy / "template.yaml"
    template.write_text(
        template.read_text()
        + "\n  AddedFunction:\n    Type: AWS::Serverless::Function\n"
        + "    Properties:\n      CodeUri: other/\n"
    )

    # THEN it starts and answers through the Lambda Invoke API
    started, _ = wait_for(
        lambda: any("new AddedFunction (Lambda Invoke API)" in x for x in stack.lines), 30
    )
    assert started, stack.lines
    error, payload = lambda_invoke(stack, "AddedFunction")
    assert error is None and payload["statusCode"] == 200


def test_without_reload_a_saved_handler_is_not_used(
    start: Callable[..., Any], app_copy: Path
) -> None:
    # GIVEN the app running with reload off (--no-reload)
    stack = start(reload=False)
    assert get(f"{stack.api_url}/hello")[1]["message"] == "version 1"

    # WHEN the handler is saved
    save(app_copy / "hello" / "app.py", HELLO, 'MESSAGE = "version 2"')
    time.sleep(1.5)

    # THEN the warm worker keeps answering with the code read at start
    assert get(f"{stack.api_url}/hello")[1]["message"] == "version 1"
    assert not [x for x in stack.lines if x.startswith("reload: ")]


def test_a_busy_worker_finishes_its_invocation_with_the_old_code_then_ends(tmp_path: Path) -> None:
    import sys
    import threading

    from eventflow_local.runtime.environment import lambda_environment
    from eventflow_local.runtime.functions import FunctionRuntime
    from eventflow_local.template.specs import FunctionSpec

    # GIVEN a function whose invocation takes a while when asked to, running in one worker
    code = tmp_path / "slow"
    code.mkdir()
    module = code / "app.py"
    module.write_text(
        "import os, time\nVERSION = 1\n\ndef handler(event, context):\n"
        "    time.sleep(event.get('sleep', 0))\n    return [VERSION, os.getpid()]\n"
    )
    spec = FunctionSpec("SlowFunction", code, "app.handler", "python3.13", 10, 128, {}, [])
    env = lambda_environment(spec, region="us-east-1")
    runtime = FunctionRuntime(spec, env, [], python=sys.executable, log=lambda line: None)
    runtime.start()
    try:
        assert runtime.wait_ready() is None
        slow: list[Any] = []
        busy = threading.Thread(target=lambda: slow.append(runtime.invoke({"sleep": 1.0})))
        busy.start()
        time.sleep(0.3)

        # WHEN the code is saved and the function reloaded while that invocation runs
        module.write_text(module.read_text().replace("VERSION = 1", "VERSION = 2"))
        runtime.reload()
        fresh = runtime.invoke({})
        busy.join()

        # THEN the invocation under way ends with the code it started with, the next one runs
        # the new code in another process, and the old process is gone once it was given back
        old_version, old_pid = slow[0].payload
        assert old_version == 1
        assert fresh.payload[0] == 2 and fresh.payload[1] != old_pid
        assert old_pid not in runtime.worker_pids()
        assert runtime.invoke({}).payload == fresh.payload
    finally:
        runtime.stop()


def test_a_saved_layer_file_reloads_the_functions_that_use_the_layer_only(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    from eventflow_local.runtime.reload import Reloader
    from eventflow_local.stack import Stack

    # GIVEN the layers app (a built layer and a prebuilt one) running with reload on
    app = tmp_path / "layer_app"
    shutil.copytree(APP.parent / "layer_app", app, ignore=shutil.ignore_patterns("__pycache__"))
    lines: list[str] = []
    stack = Stack(
        template_path=app / "template.yaml",
        bootstrap_servers=kafka_bootstrap,
        log=lines.append,
        port=0,
        environ={},
        state_dir=tmp_path / "state",
        api=False,
    ).start()
    reloader = Reloader(stack).start()
    try:
        assert (
            stack.invoke("WithLayerFunction", {"name": "ada"}).payload["greeting"] == "hello, ada"
        )
        without = stack.runtimes["WithoutLayerFunction"].worker_pids()

        # WHEN a module of the prebuilt layer is saved
        module = app / "prebuilt" / "python" / "greeting.py"
        module.write_text(module.read_text().replace("hello, ", "bonjour, "))

        # THEN the function with the layer runs it from the next invocation, the other keeps
        # its worker
        greeted, _ = wait_for(
            lambda: (
                stack.invoke("WithLayerFunction", {"name": "ada"}).payload["greeting"]
                == "bonjour, ada"
            ),
            3,
        )
        assert greeted
        assert stack.runtimes["WithoutLayerFunction"].worker_pids() == without
        assert [x for x in lines if x.startswith("reload: ")] == [
            "reload: prebuilt/python/greeting.py saved: new code for WithLayerFunction "
            "from the next invocation"
        ]
    finally:
        reloader.stop()
        stack.stop()
