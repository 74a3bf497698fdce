"""Per-function builds: a function imports only what it would have on AWS.

Each fixture app under tests/apps/ is started by the harness, which builds (or reuses) each
function's requirements and layers, then runs every worker isolated from this virtualenv.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.runtime.build import TemplateBuild, cache_dir_for
from eventflow_local.runtime.pythons import installed_interpreters
from eventflow_local.template.sam import DEFAULT_TEMPLATE
from tests.support import template as our_template


def test_each_function_imports_its_own_requirements_and_nothing_of_the_virtualenv(
    run_app: Callable[..., Any],
) -> None:
    # GIVEN a function whose CodeUri requirements.txt names fastjsonschema (absent from this
    # venv), one importing it without requiring it, and one whose requirements pip cannot install
    stack = run_app("own_requirements", api=False)

    # WHEN the first is invoked
    result = stack.invoke("ValidateFunction", {"amount": 12.5})

    # THEN the package comes from the function's build, boto3 from the runtime, and the venv's
    # packages (PyYAML, the eventflow editable install) are out of reach
    assert result.ok, result.error
    assert "/.aws-sam-local/ValidateFunction-py" in result.payload["fastjsonschema"]
    assert result.payload["valid"] is True
    assert result.payload["boto3"]
    assert result.payload["yaml"] is False
    assert result.payload["eventflow"] is False
    assert stack.invoke("ValidateFunction", {"amount": "twelve"}).payload["valid"] is False

    # AND WHEN the function without the requirement is invoked, Lambda's init error comes back
    borrowed = stack.invoke("BorrowFunction", {})
    assert not borrowed.ok
    assert borrowed.error["errorType"] == "Runtime.ImportModuleError"
    assert borrowed.error["errorMessage"] == (
        "Unable to import module 'app': No module named 'fastjsonschema'"
    )

    # AND WHEN the function whose build failed is invoked, it fails with pip's error naming the
    # function and the file (said at start-up too), while the others run
    broken = stack.invoke("BrokenFunction", {})
    assert not broken.ok
    message = broken.error["errorMessage"]
    assert broken.error["errorType"] == "BuildError"
    assert "BrokenFunction" in message and "broken/requirements.txt" in message
    assert "ERROR: Invalid requirement" in message
    assert any(line.startswith("build BrokenFunction failed") for line in stack.lines)


def test_a_layer_is_built_and_seen_only_by_the_functions_that_declare_it(
    run_app: Callable[..., Any],
) -> None:
    # GIVEN a layer built with its own requirements and shared code, and a prebuilt layer folder
    stack = run_app("layer_app", api=False)

    # WHEN the function that declares them is invoked
    result = stack.invoke("WithLayerFunction", {"text": "fraud_detected", "name": "ada"})

    # THEN the layer's code and its requirement (inflection) are importable, as under /opt/python
    assert result.ok, result.error
    assert result.payload["headline"] == "Fraud Detected"
    assert result.payload["greeting"] == "hello, ada"
    assert result.payload["textkit"].endswith("layer_app/layer/textkit/__init__.py")

    # AND the function without the layer cannot import it
    other = stack.invoke("WithoutLayerFunction", {"text": "x"})
    assert other.error["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'textkit'" in other.error["errorMessage"]

    # AND the layer ARN from another account is named at start-up as not emulated
    assert any(
        line.startswith("WithoutLayerFunction.Layers: arn:aws:lambda:us-east-1:210987654321")
        for line in stack.skipped
    )


def test_each_function_runs_on_the_python_of_its_runtime(run_app: Callable[..., Any]) -> None:
    # GIVEN functions on python3.9, on python3.14 (arm64) and on nodejs20.x
    installed = {i.version: i for i in installed_interpreters()}
    stack = run_app("runtimes")

    # WHEN the Python ones are invoked
    old = stack.invoke("OldRuntimeFunction", {})
    new = stack.invoke("NewRuntimeFunction", {})

    # THEN each reports the interpreter that ran it: its own version when installed, else the
    # newest installed, said once at start-up
    assert old.ok and new.ok, (old.error, new.error)
    if (3, 9) in installed:
        assert old.payload["version"][:2] == [3, 9]
        assert old.payload["executable"] == installed[(3, 9)].path
    newest = max(installed)
    if (3, 14) in installed:
        assert new.payload["version"][:2] == [3, 14]
    else:
        assert new.payload["version"][:2] == list(newest)
        assert sum("Runtime python3.14: not installed" in line for line in stack.lines) == 1
    assert any(line.startswith("Architectures: arm64 (NewRuntimeFunction)") for line in stack.lines)

    # AND the Node.js function is named as not emulated, and its route is not served
    assert any(line.startswith("NodeFunction.Runtime: nodejs20.x") for line in stack.skipped)
    assert "NodeFunction" not in stack.runtimes
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"{stack.api_url}/hello", timeout=5)
    assert answer.value.code in (403, 404)
    json.loads(answer.value.read() or b"{}")


def test_our_functions_get_eventflow_and_its_dependencies_from_the_shared_layer() -> None:
    # GIVEN this project's template (SharedLayer: ContentUri src/, BuildMethod python3.13)
    template = our_template()
    spec = template.functions()["AccountConsumerFunction"]

    # WHEN its build is prepared (built once, then cached) and its import path is used
    plan = TemplateBuild(template, cache_dir_for(DEFAULT_TEMPLATE), log=print).prepare(
        {spec.logical_id: spec}
    )[spec.logical_id]
    probe = (
        "import sys, json, importlib.util as u; sys.path[:0] = sys.argv[1:]; "
        "import eventflow, aws_lambda_powertools, pydantic, kafka; "
        "print(json.dumps({'eventflow': eventflow.__file__, "
        "'powertools': aws_lambda_powertools.__file__, 'moto': u.find_spec('moto') is not None, "
        "'version': list(sys.version_info[:2])}))"
    )
    done = subprocess.run(
        [plan.interpreter.path, "-I", "-S", "-c", probe, str(spec.code_uri), *map(str, plan.paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    # THEN eventflow comes from the layer's content (src/), Powertools from the layer's build,
    # and the harness's own packages (moto) are out of reach
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert plan.error is None
    assert found["eventflow"] == str(
        DEFAULT_TEMPLATE.resolve().parent / "src" / "eventflow" / "__init__.py"
    )
    assert "/.aws-sam-local/SharedLayer-py3.13-" in found["powertools"]
    assert found["moto"] is False
    assert found["version"] == list(plan.interpreter.version)


def test_a_makefile_layer_is_built_by_its_target_and_is_what_opt_holds(
    run_app: Callable[..., Any],
) -> None:
    # GIVEN a layer with BuildMethod makefile whose build-ShoutLayer target copies a module into
    # $(ARTIFACTS_DIR)/python and notes the python3 it found first on PATH
    stack = run_app("make_layer", api=False)

    # WHEN the function that declares the layer is invoked
    result = stack.invoke("ShoutFunction", {"word": "hey"})

    # THEN the module the Makefile put under python/ is importable, as from /opt/python
    assert result.ok, result.error
    assert result.payload["word"] == "HEY!"
    module = Path(result.payload["module"])
    assert module.parent.name == "python"
    assert module.parent.parent.name.startswith("ShoutLayer-py3.13-")
    # AND the Makefile ran with the runtime's Python first on PATH
    assert result.payload["builtWith"] == "3.13"
    assert not any("ShoutLayer.Metadata.BuildMethod" in line for line in stack.skipped)
