"""Two distributions: the app (``eventflow``, src/, with its development tools in dev/) and the
harness (``eventflow-local``, harness/src/), which installs as ``eventflow_local`` and needs
nothing of the app; the app's tools reach the harness through its plugin entry point."""

from __future__ import annotations

import ast
import re
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


# --------------------------------------------------------------------------------- the sources
PACKAGE = HARNESS / "src" / "eventflow_local"
MAX_LINES = 400
# "At most ~400 lines": these are a little over, each with a ceiling it may not grow past
# (the Kafka poll cycle, the console's routes, the stream poll cycle).
OVER_MAX_LINES = {
    "eventsources/kafka/mapping.py": 420,
    "console/server.py": 417,
    "eventsources/dynamodb/mapping.py": 407,
}
# Harness modules allowed to import the app: none.
IMPORT_THE_APP: set[str] = set()
# The harness's layers, lowest first: a module imports from its own layer or lower ones only.
# The name is what follows ``eventflow_local.`` (the package's own __init__ is the lowest).
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(names)
    for names in (
        {"processes", "httpserver", "aws", "output", "errors", ""},
        {"template"},
        {"events"},
        {"runtime"},
        {"services"},
        {"eventsources"},
        {"apigw"},
        {"console"},
        {"report", "state", "settings", "planning", "stack", "reapply"},
        # the command line, and what a test suite runs the stack with (the pytest plugin)
        {"cli", "__main__", "testing", "pytest_plugin"},
    )
)
# Plugins stand beside the layers: imported by the console and the command line only, and
# importing nothing of the harness but the lowest layer.
PLUGINS = "plugins"
PLUGINS_IMPORTED_BY = frozenset({"plugins", "console", "cli"})
PLUGINS_IMPORT = frozenset({"plugins"}) | LAYERS[0]
# Imports that go up a layer ("module -> the layer's package"), type annotations included: none.
# A part that needs something of a higher one names it as a Protocol of its own (the console's
# ``RunningStack``, the API server's ``ConsolePages``).
UPWARD_IMPORTS: set[str] = set()


def _modules() -> dict[str, Path]:
    """Every module of the harness by its dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imported(module: str, source: str, is_package: bool = False) -> list[str]:
    """The modules ``source`` (module ``module``) imports, with string constants that name a
    module (``importlib.import_module("x.y")``, ``python -m x.y``)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*package, *([node.module] if node.module else [])])
            # ``from a import b`` imports a.b when b is a module, else a: count a.b, whose
            # first two parts name the layer either way
            names.extend(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", node.value)
        ):
            names.append(node.value)
    return names


def _names_the_app(name: str) -> bool:
    return name == "eventflow" or name.startswith("eventflow.")


def test_the_import_scanner_sees_every_form_of_import() -> None:
    source = (
        "import eventflow\n"
        "from eventflow.fraud import rules\n"
        "import importlib\n"
        "importlib.import_module('eventflow.quakes')\n"
        "from . import sibling\n"
        "from eventflow_local import stack\n"
    )
    names = _imported("eventflow_local.services.moto_server", source)
    assert [n for n in names if _names_the_app(n)] == [
        "eventflow",
        "eventflow.fraud.rules",
        "eventflow.quakes",
    ]
    assert "eventflow_local.services.sibling" in names
    assert "eventflow_local.stack" in names


def test_no_harness_module_imports_the_app() -> None:
    offenders = {
        module
        for module, path in _modules().items()
        if any(
            _names_the_app(name)
            for name in _imported(module, path.read_text(), path.name == "__init__.py")
        )
    }
    assert offenders <= IMPORT_THE_APP, f"they import the app: {offenders - IMPORT_THE_APP}"


def test_every_harness_module_is_at_most_400_lines() -> None:
    too_long = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        lines = len(path.read_text().splitlines())
        if lines > max(MAX_LINES, OVER_MAX_LINES.get(name, 0)):
            too_long[name] = lines
    assert too_long == {}, f"over {MAX_LINES} lines (or past their ceiling): {too_long}"


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_harness_module_imports_from_a_layer_above_its_own() -> None:
    rank = {name: n for n, names in enumerate(LAYERS) for name in names}
    modules = _modules()
    unknown = {_layer(m) for m in modules} - set(rank) - {PLUGINS}
    assert unknown == set(), f"place these in LAYERS: {unknown}"
    upward = set()
    for module, path in modules.items():
        for target in _imported(module, path.read_text(), path.name == "__init__.py"):
            if target.split(".")[0] != "eventflow_local" or target == "eventflow_local":
                continue
            mine, theirs = _layer(module), _layer(target)
            if PLUGINS in (mine, theirs):
                allowed = (
                    theirs in PLUGINS_IMPORT if mine == PLUGINS else mine in PLUGINS_IMPORTED_BY
                )
            else:
                allowed = rank.get(theirs, len(LAYERS)) <= rank[mine]
            if not allowed:
                upward.add(f"{module} -> {'.'.join(target.split('.')[:2])}")
    assert upward == UPWARD_IMPORTS, f"imports from a layer above: {upward ^ UPWARD_IMPORTS}"
