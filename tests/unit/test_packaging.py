"""The distribution lists every package folder, and installs the harness as ``eventflow_local``."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> tuple[list[str], dict[str, str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return list(config["packages"]), dict(config["package-dir"])


def _on_disk(base: Path, name: str) -> set[str]:
    return {
        ".".join([name, *init.parent.relative_to(base).parts])
        for init in base.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_every_package_folder_is_in_the_distribution() -> None:
    # GIVEN the packages pyproject.toml lists
    packages, package_dir = _declared()
    # THEN they are exactly the folders with an __init__.py under src/eventflow and local/
    expected = _on_disk(ROOT / "src" / "eventflow", "eventflow") | _on_disk(
        ROOT / "local", "eventflow_local"
    )
    assert set(packages) == expected
    assert package_dir["eventflow_local"] == "local"


def test_the_harness_has_a_console_script_named_after_the_project() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["eventflow-local"] == "eventflow_local.cli:main"
