"""Plugins: what a project adds to the harness without the harness knowing the project.

The harness runs any SAM app, so it has no commands or console pages of any one app. A project
that wants its own (a command that plays its scenario, loads sample data or repairs something;
a console page for its data) writes a ``Plugin`` and names it in the entry point group
``eventflow_local.plugins`` of its distribution. Everything a plugin offers is optional:

* ``add_commands(subparsers)`` adds its subcommands to ``eventflow-local`` (argparse subparsers)
  and returns ``{command name: function}``; a function takes the parsed arguments and returns
  the exit code. The harness's error handling applies: ``UsageError`` is one line
  ``error: ...`` on stderr and exit code 2. A command may reuse the harness's own options and
  checks (``eventflow_local.cli.parser.template_options``/``engine_options``,
  ``eventflow_local.cli.commands.dynamodb_engine``, ``eventflow_local.cli.args``).
* ``console``: a folder of static files, served under ``/_console/plugins/<name>/``, holding an
  ES module whose ``views`` export adds views to the console, in the shape of the console's
  own (``{mount(root, arg), refresh()}``, optional ``readsApi``), plus:
  ``title`` (a link in the navigation; the view is then the page ``#/<key>``), ``into``
  (``"overview"`` or ``"dead-letters"``: a panel inside that view instead of a page of its own)
  and ``feature`` (the key of ``needs`` it depends on; default the view's own key). ``needs``
  names the template's API routes each feature reads; the console's ``features`` answer says
  which have all theirs, and a view whose feature has not is left out (one whose feature is
  not in ``needs`` always shows), so the same plugin is harmless on another SAM app.
  ``styles`` are stylesheets of the folder the page loads.

Example (``pyproject.toml``: ``[project.entry-points."eventflow_local.plugins"]`` with
``shop = "shop_dev:plugin"``)::

    # shop_dev/__init__.py
    from pathlib import Path
    from eventflow_local.plugins import ConsoleViews, Plugin, UsageError

    def add_commands(sub):
        hello = sub.add_parser("hello", help="greet someone")
        hello.add_argument("name")
        return {"hello": hello_command}

    def hello_command(args):
        if not args.name.isalpha():
            raise UsageError(f"{args.name!r} is not a name")  # one line, exit code 2
        print(f"hello {args.name}")
        return 0

    plugin = Plugin(
        name="shop",
        add_commands=add_commands,
        console=ConsoleViews(
            folder=Path(__file__).parent / "static",  # static/views.js exports `views`
            module="views.js",
            needs={"orders": [("GET", "/orders")]},
        ),
    )

    // shop_dev/static/views.js
    import { h, getJSON, fill } from "/_console/static/lib.js";
    export const views = {
      orders: { title: "Orders", readsApi: true,
        async mount(root) { this.el = h("pre"); root.append(this.el); await this.refresh(); },
        async refresh() { fill(this.el, JSON.stringify(await getJSON("/orders"))); } },
    };

``EVENTFLOW_LOCAL_PLUGINS`` (comma-separated ``module:attribute``) adds plugins that are not
installed as a distribution: a project's own checkout, tests. A plugin named both ways loads
once. A plugin that cannot be loaded is one line on stderr, ``plugin <name>: not loaded:
<reason>``, and the harness goes on without it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TypeAlias

from eventflow_local.errors import UsageError

__all__ = [
    "ENV",
    "GROUP",
    "Command",
    "ConsoleViews",
    "Plugin",
    "Route",
    "SubParsers",
    "UsageError",
    "installed",
    "load",
]

GROUP = "eventflow_local.plugins"
ENV = "EVENTFLOW_LOCAL_PLUGINS"

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
#: runs a subcommand with its parsed arguments; returns the exit code
Command = Callable[[argparse.Namespace], int]
#: an API route of the template: (method, path), as ``("GET", "/orders/{id}")``
Route = tuple[str, str]

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class ConsoleViews:
    """A plugin's console views: ``folder`` is served under ``/_console/plugins/<name>/``,
    ``module`` (a file of it) exports ``views``; ``needs`` maps a feature to the routes it
    reads; ``styles`` are stylesheets of the folder."""

    folder: Path
    module: str
    needs: Mapping[str, Sequence[Route]] = field(default_factory=dict)
    styles: Sequence[str] = ()


@dataclass(frozen=True)
class Plugin:
    """What one project adds to the harness (see the module's docstring)."""

    name: str
    add_commands: Callable[[SubParsers], Mapping[str, Command]] | None = None
    console: ConsoleViews | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"a plugin's name is lower-case letters, digits, - and _: {self.name!r}"
            )


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _candidates(environ: Mapping[str, str]) -> list[EntryPoint]:
    found = list(entry_points(group=GROUP))
    for spec in (environ.get(ENV) or "").split(","):
        spec = spec.strip()
        if spec:
            found.append(EntryPoint(name=spec, value=spec, group=GROUP))
    return found


def load(
    environ: Mapping[str, str] | None = None, warn: Callable[[str], None] = _warn
) -> list[Plugin]:
    """The installed plugins and those ``EVENTFLOW_LOCAL_PLUGINS`` names, each once, in order."""
    plugins: list[Plugin] = []
    seen: set[str] = set()
    for entry in _candidates(os.environ if environ is None else environ):
        if entry.value in seen:
            continue
        seen.add(entry.value)
        try:
            if ":" not in entry.value:
                raise ValueError(f"{entry.value!r} is not module:attribute")
            found = entry.load()
        except Exception as exc:  # whatever the plugin's import raises: said, not fatal
            warn(f"plugin {entry.name}: not loaded: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(found, Plugin):
            warn(
                f"plugin {entry.name}: not loaded: {entry.value} is a {type(found).__name__}, "
                "not an eventflow_local.plugins.Plugin"
            )
        elif any(p.name == found.name for p in plugins):
            warn(f"plugin {entry.name}: not loaded: another plugin is named {found.name}")
        else:
            plugins.append(found)
    return plugins


@cache
def installed() -> tuple[Plugin, ...]:
    """``load()`` once per process: a plugin that cannot be loaded is said once."""
    return tuple(load())
