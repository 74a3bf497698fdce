"""Code packaged as public SAM apps package it, run by the harness as Lambda runs it.

The ``packaged_code`` fixture app (copied to a temporary folder, where its .zip package is made):

- a handler named by its file path (``handlers/greet.lambda_handler``): Lambda's Python runtime
  imports ``handlers.greet`` (awslambdaric ``bootstrap._get_handler`` turns "/" into ".");
- a ``CodeUri`` that is a .zip deployment package: Lambda runs it extracted under its task root
  (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html), ``sam local`` unzips it.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from eventflow_local.stack import Stack

APP = Path(__file__).resolve().parents[1] / "apps" / "packaged_code"


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def zip_folder(source: Path, archive: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as package:
        for path in sorted(source.rglob("*.py")):
            package.write(path, path.relative_to(source).as_posix())


def test_a_path_style_handler_and_a_zip_code_uri_run_as_on_lambda(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # GIVEN the packaged_code app, its ZippedFunction's CodeUri a .zip made of zipped_src/
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    zip_folder(app / "zipped_src", app / "dist" / "zipped.zip")
    shutil.rmtree(app / "zipped_src")
    lines: list[str] = []
    with Stack(
        template_path=app / "template.yaml",
        bootstrap_servers=kafka_bootstrap,
        port=0,
        environ={},
        state_dir=tmp_path / "state",
        log=lines.append,
    ) as stack:
        # WHEN both routes are called
        greet = get(f"{stack.api_url}/greet/ada")
        shout = get(f"{stack.api_url}/shout/hey")
    # THEN the path-style handler is imported as its dotted module
    assert greet == (200, {"greeting": "hi ada", "module": "handlers.greet"}), lines[-20:]
    # AND the zipped function runs from its unpacked package, which is its task root
    status, body = shout
    assert status == 200, lines[-20:]
    assert body["word"] == "HEY!"
    root = Path(body["taskRoot"])
    assert Path(body["cwd"]) == root
    assert root.parent == app / ".aws-sam-local"
    assert root.name.startswith("ZippedFunction-package-")
    assert (root / "lib" / "loud.py").is_file()
    assert stack.refused == []
    assert not any("ZippedFunction" in line for line in stack.skipped)


def test_a_zip_code_uri_that_is_no_zip_is_refused_in_one_line(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # GIVEN the packaged_code app whose dist/zipped.zip is not a zip archive
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "dist").mkdir()
    (app / "dist" / "zipped.zip").write_text("not a zip")
    with Stack(
        template_path=app / "template.yaml",
        bootstrap_servers=kafka_bootstrap,
        port=0,
        environ={},
        state_dir=tmp_path / "state",
        log=lambda line: None,
    ) as stack:
        # THEN that function is refused with the reason, and the other one runs
        assert stack.refused == [
            f"ZippedFunction: CodeUri: {app / 'dist' / 'zipped.zip'} is not a .zip deployment "
            "package"
        ]
        assert set(stack.runtimes) == {"PathHandlerFunction"}
        assert get(f"{stack.api_url}/greet/bo")[0] == 200
