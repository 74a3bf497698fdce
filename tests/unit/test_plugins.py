"""Plugins reach the harness through the entry point group ``eventflow_local.plugins`` or
``EVENTFLOW_LOCAL_PLUGINS``; one that cannot be loaded is one line, and the harness goes on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from eventflow_dev import plugin as our_plugin
from eventflow_local.console.stack_view import features
from eventflow_local.plugins import ENV, GROUP, Plugin, load

ROOT = Path(__file__).resolve().parents[2]

HELLO = """
from eventflow_local.plugins import Plugin, UsageError

def add_commands(sub):
    hello = sub.add_parser("hello", help="greet someone")
    hello.add_argument("name")
    return {"hello": hello_command}

def hello_command(args):
    if not args.name.isalpha():
        raise UsageError(f"{args.name!r} is not a name")
    print(f"hello {args.name}")
    return 3 if args.name == "three" else 0

plugin = Plugin(name="hello", add_commands=add_commands)
"""


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path with the module ``hello_plugin`` and a broken one."""
    (tmp_path / "hello_plugin.py").write_text(HELLO)
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('it broke on import')\n")
    (tmp_path / "not_a_plugin.py").write_text("plugin = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _install_entry_point(folder: Path, name: str, value: str) -> None:
    """A distribution's metadata, as pip writes it, naming ``value`` in the plugins' group."""
    info = folder / "hello_dist-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-dist\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{name} = {value}\n")


def test_the_environment_names_plugins_as_module_attribute(plugin_dir: Path) -> None:
    # GIVEN EVENTFLOW_LOCAL_PLUGINS naming a module's plugin WHEN plugins are loaded
    lines: list[str] = []
    plugins = load({ENV: " hello_plugin:plugin ,"}, lines.append)
    # THEN it is there (after any installed ones), and nothing was said
    assert [p.name for p in plugins][-1] == "hello"
    assert lines == []


def test_an_installed_plugin_is_found_by_its_entry_point_and_loaded_once(plugin_dir: Path) -> None:
    # GIVEN a distribution naming the plugin in the entry point group, and the environment too
    _install_entry_point(plugin_dir, "hello", "hello_plugin:plugin")
    lines: list[str] = []
    # WHEN plugins are loaded without and with the environment
    alone = load({}, lines.append)
    both = load({ENV: "hello_plugin:plugin"}, lines.append)
    # THEN the entry point brings it, and naming it twice loads it once
    assert [p.name for p in alone if p.name == "hello"] == ["hello"]
    assert [p.name for p in both if p.name == "hello"] == ["hello"]
    assert lines == []


def test_a_plugin_that_cannot_be_loaded_is_one_line_and_the_others_load(plugin_dir: Path) -> None:
    # GIVEN a broken plugin, a missing one, a malformed name, a wrong object and a good one
    lines: list[str] = []
    spec = "broken_plugin:plugin,missing_mod:plugin,hello_plugin,not_a_plugin:plugin"
    plugins = load({ENV: spec + ",hello_plugin:plugin"}, lines.append)
    # THEN each failure is one line naming it and why, and the good one is loaded
    assert [p.name for p in plugins].count("hello") == 1
    assert lines == [
        "plugin broken_plugin:plugin: not loaded: RuntimeError: it broke on import",
        "plugin missing_mod:plugin: not loaded: ModuleNotFoundError: No module named 'missing_mod'",
        "plugin hello_plugin: not loaded: ValueError: 'hello_plugin' is not module:attribute",
        "plugin not_a_plugin:plugin: not loaded: not_a_plugin:plugin is a int, not an "
        "eventflow_local.plugins.Plugin",
    ]


def test_a_plugins_name_is_fit_for_a_url() -> None:
    with pytest.raises(ValueError, match="lower-case letters"):
        Plugin(name="My Plugin")


def test_a_feature_holds_when_the_api_has_every_route_it_needs() -> None:
    # GIVEN a stack whose API has two of this project's routes
    methods = [SimpleNamespace(method="GET", path=p) for p in ("/accounts", "/accounts/{id}")]
    api = SimpleNamespace(operations=methods)
    stack = SimpleNamespace(gateway=SimpleNamespace(router=SimpleNamespace(apis=[api])))
    assert our_plugin.console is not None
    # WHEN the features of our plugin are worked out
    found = features(stack, our_plugin.console.needs)  # type: ignore[arg-type]
    # THEN only the view whose routes are all there shows; without an API none does
    assert found == {"fraud": True, "quakes": False, "deadLetters": False, "redrive": False}
    no_api = SimpleNamespace(gateway=None)
    assert not any(features(no_api, our_plugin.console.needs).values())  # type: ignore[arg-type]


# ------------------------------------------------------------------ the command line
def _cli(folder: Path, plugins: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env[ENV] = plugins
    env["PYTHONPATH"] = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "eventflow_local", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_plugins_command_runs_with_its_exit_code(plugin_dir: Path) -> None:
    # WHEN the plugin's command runs THEN its output and exit code are the command's
    done = _cli(plugin_dir, "hello_plugin:plugin", "hello", "three")
    assert (done.returncode, done.stdout, done.stderr) == (3, "hello three\n", "")


def test_a_plugins_usage_error_is_one_line_and_exit_code_2(plugin_dir: Path) -> None:
    done = _cli(plugin_dir, "hello_plugin:plugin", "hello", "R2-D2")
    assert done.returncode == 2
    assert done.stderr == "error: 'R2-D2' is not a name\n"
    assert done.stdout == ""


def test_a_broken_plugin_leaves_the_harness_working(plugin_dir: Path) -> None:
    # GIVEN a plugin that raises on import WHEN the harness's own command runs
    done = _cli(plugin_dir, "broken_plugin:plugin", "invoke", "-t", "missing.yaml")
    # THEN the plugin is one line, and the command answers as ever
    assert done.stderr.splitlines() == [
        "plugin broken_plugin:plugin: not loaded: RuntimeError: it broke on import",
        "error: template missing.yaml: no such file",
    ]
    assert done.returncode == 2


def test_a_plugin_cannot_replace_a_command_of_the_harness(plugin_dir: Path) -> None:
    # GIVEN a plugin that adds a command named like the harness's own
    (plugin_dir / "clash_plugin.py").write_text(
        "from eventflow_local.plugins import Plugin\n"
        "def add(sub):\n"
        "    sub.add_parser('invoke')\n"
        "    return {'invoke': lambda args: 0}\n"
        "plugin = Plugin(name='clash', add_commands=add)\n"
    )
    # WHEN that command runs
    done = _cli(plugin_dir, "clash_plugin:plugin", "invoke", "-t", "missing.yaml")
    # THEN the plugin's commands are refused in one line, and the harness's command runs
    first, second = done.stderr.splitlines()
    assert first.startswith("plugin clash: commands not added: ArgumentError: ")
    assert second == "error: template missing.yaml: no such file"
    assert done.returncode == 2


def test_this_projects_commands_come_from_its_plugin() -> None:
    # GIVEN this project's plugin WHEN the harness lists its commands THEN demo, seed and
    # redrive are there, and the harness itself knows none of them
    done = _cli(ROOT, "eventflow_dev:plugin", "--help")
    for command in ("up", "invoke", "start-api", "demo", "seed", "redrive"):
        assert f"    {command} " in done.stdout or f"    {command}\n" in done.stdout, command
    harness = ROOT / "harness" / "src" / "eventflow_local"
    app_import = re.compile(r"^\s*(import eventflow\b|from eventflow[ .])", re.MULTILINE)
    assert not [p for p in harness.rglob("*.py") if app_import.search(p.read_text())]
    # AND the command line, the console and the plugin loader name nothing of this app
    ours = [*harness.joinpath("cli").rglob("*"), *harness.joinpath("console").rglob("*")]
    ours.append(harness / "plugins.py")
    # (SQS's own RedrivePolicy is no word of this app)
    app_words = re.compile(r"fraud|quake|accounts|redrive(?!policy)|demo", re.IGNORECASE)
    assert not [
        p.name
        for p in ours
        if p.suffix in (".py", ".js", ".html", ".css") and app_words.search(p.read_text())
    ]
