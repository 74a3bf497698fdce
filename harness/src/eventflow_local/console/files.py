"""The console's files: its own page (``static/``), Swagger UI's, and the plugins' views.

Each comes from a folder on disk, never from the network; a name that leads out of its folder is
a 404. A plugin's folder is served under ``/_console/plugins/<name>/``, and the page learns from
the overview which module and stylesheets to load and which features the template's API has
(eventflow_local/plugins.py).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from eventflow_local.httpserver import send
from eventflow_local.plugins import Plugin, Route

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png")


def swagger_dir() -> Path | None:
    """Where ``swagger-ui-py`` keeps swagger-ui-dist's files (None when it is not installed)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if folder.is_dir() else None


def not_found(req: BaseHTTPRequestHandler, message: str) -> None:
    send(req, 404, {}, json.dumps({"message": message}).encode())


def serve_file(req: BaseHTTPRequestHandler, folder: Path, name: str | None = None) -> None:
    """``folder`` itself when ``name`` is None, else the file ``name`` inside ``folder``."""
    target = folder if name is None else (folder / unquote(name)).resolve()
    if name is not None and (folder.resolve() not in target.parents or not target.is_file()):
        not_found(req, "no such file")
        return
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if target.suffix == ".js":
        kind = "text/javascript"
    if kind.startswith("text/") or kind.endswith(("javascript", "svg+xml")):
        kind += "; charset=utf-8"
    headers = {"Content-Type": [kind], "Cache-Control": ["no-cache"]}
    send(req, 200, headers, target.read_bytes())


class PluginViews:
    """The console views of the plugins that have some, by plugin name."""

    def __init__(self, plugins: Iterable[Plugin], prefix: str) -> None:
        self.plugins = {p.name: p for p in plugins if p.console is not None}
        self.prefix = prefix

    def needs(self) -> dict[str, list[Route]]:
        """Every feature of every plugin and the API routes it reads (the first plugin's wins)."""
        found: dict[str, list[Route]] = {}
        for plugin in self.plugins.values():
            assert plugin.console is not None
            for feature, routes in plugin.console.needs.items():
                found.setdefault(feature, [(str(method), str(path)) for method, path in routes])
        return found

    def modules(self) -> list[dict[str, Any]]:
        """What the page loads of each plugin: its module and its stylesheets."""
        out = []
        for name, plugin in self.plugins.items():
            assert plugin.console is not None
            base = f"{self.prefix}/plugins/{quote(name)}/"
            out.append(
                {
                    "name": name,
                    "module": base + quote(plugin.console.module),
                    "styles": [base + quote(style) for style in plugin.console.styles],
                }
            )
        return out

    def serve(self, req: BaseHTTPRequestHandler, rest: str) -> None:
        """``rest`` = ``<plugin name>/<file>``."""
        name, _, file = rest.partition("/")
        plugin = self.plugins.get(unquote(name))
        if plugin is None or plugin.console is None or not file:
            not_found(req, f"no console plugin {unquote(name)}")
            return
        serve_file(req, Path(plugin.console.folder), file)
