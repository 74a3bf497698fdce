"""Two distributions: the app (``eventflow``, src/, with its development tools in dev/) and the
harness (``eventflow-local``, harness/src/), which installs as ``eventflow_local`` and needs
nothing of the app; the app's tools reach the harness through its plugin entry point."""

from __future__ import annotations

import tomllib
from pathlib import Path

from cfn_tools import load_yaml

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())


def test_each_distribution_finds_its_packages_under_its_own_src() -> None:
    assert _project(HARNESS)["tool"]["setuptools"]["packages"]["find"]["where"] == ["src"]
    # the app's dev tools beside src/, never inside it: src/ ships whole as the Lambda layer
    assert _project(ROOT)["tool"]["setuptools"]["packages"]["find"]["where"] == ["src", "dev"]
    assert (HARNESS / "src" / "eventflow_local" / "__init__.py").is_file()
    assert (ROOT / "dev" / "eventflow_dev" / "__init__.py").is_file()
    assert not (ROOT / "src" / "eventflow_dev").exists()
    assert not (ROOT / "src" / "eventflow_local").exists()
    assert not (ROOT / "local").exists()


def test_the_harness_has_a_console_script_named_after_the_project() -> None:
    scripts = _project(HARNESS)["project"]["scripts"]
    assert scripts["eventflow-local"] == "eventflow_local.cli.main:main"


def test_the_harness_depends_on_nothing_of_the_app() -> None:
    names = {
        dep.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for dep in _project(HARNESS)["project"]["dependencies"]
    }
    assert not names & {"eventflow", "pynamodb", "pydantic", "aws-lambda-powertools"}
    # AND the app's development install brings the harness
    assert "eventflow-local" in _project(ROOT)["project"]["optional-dependencies"]["dev"]


def test_the_apps_tools_reach_the_harness_through_its_plugin_entry_point() -> None:
    # GIVEN the app's distribution
    project = _project(ROOT)
    # THEN it names its plugin in the harness's entry point group, and ships the console's files
    plugins = project["project"]["entry-points"]["eventflow_local.plugins"]
    assert plugins == {"eventflow": "eventflow_dev:plugin"}
    assert project["tool"]["setuptools"]["package-data"]["eventflow_dev"] == ["static/*"]
    assert (ROOT / "dev" / "eventflow_dev" / "static" / "project.js").is_file()


def test_the_lambda_layer_is_src_alone() -> None:
    # GIVEN the template WHEN its shared layer is read THEN it is src/, and dev/ is not in it
    layer = load_yaml((ROOT / "template.yaml").read_text())["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "src/"
    assert not any(p.name == "eventflow_dev" for p in (ROOT / "src").rglob("*"))
