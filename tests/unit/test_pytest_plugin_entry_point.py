"""The pytest plugin is declared where pytest finds it: the ``pytest11`` entry point of the
harness's distribution names the plugin's module, under the name the repository's conftest and
the README use."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from eventflow_local.testing import ENTRY_POINT, PLUGIN

PYPROJECT = Path(__file__).resolve().parents[2] / "harness" / "pyproject.toml"


def test_the_pytest11_entry_point_names_the_plugin_module() -> None:
    # GIVEN the harness's pyproject
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    # THEN its pytest11 entry point is the plugin's module, and that module has the fixtures
    assert project["entry-points"]["pytest11"] == {ENTRY_POINT: PLUGIN}
    module = importlib.import_module(PLUGIN)
    for fixture in ("eventflow_stack", "eventflow_stack_factory", "eventflow_tables"):
        assert callable(getattr(module, fixture))
    assert callable(module.pytest_addoption)


def test_the_plugin_module_imports_nothing_heavy_at_load() -> None:
    # the plugin is loaded into every pytest run of a project that installs the harness
    source = (PYPROJECT.parent / "src" / "eventflow_local" / "pytest_plugin.py").read_text()
    top = [
        line
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and "__future__" not in line
    ]
    assert top == [
        "from collections.abc import Callable, Iterator",
        "from pathlib import Path",
        "from typing import TYPE_CHECKING, Any",
        "import pytest",
    ]
