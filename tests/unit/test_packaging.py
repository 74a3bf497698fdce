"""Two distributions: the app (``eventflow``, src/) and the harness (``eventflow-local``,
harness/src/), which installs as ``eventflow_local`` and needs nothing of the app."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())


def test_each_distribution_finds_its_packages_under_its_own_src() -> None:
    for folder in (ROOT, HARNESS):
        assert _project(folder)["tool"]["setuptools"]["packages"]["find"]["where"] == ["src"]
    assert (HARNESS / "src" / "eventflow_local" / "__init__.py").is_file()
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
