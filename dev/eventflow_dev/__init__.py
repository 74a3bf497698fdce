"""This project's own development tools, reached through the harness's plugin entry point
(``eventflow_local/plugins.py``; registered in the root ``pyproject.toml``).

The harness runs any SAM app; what only this app means lives here: ``demo`` (the fraud and
earthquake scenario end to end), ``seed`` (the sample account and transaction), ``redrive``
(parked Kafka records back to their topics) and the console's fraud, earthquake and
dead-letter views (``static/``). It is a folder of its own, not under ``src/``: ``src/`` ships
whole as the Lambda layer, and none of this belongs in Lambda.

Importing this package is cheap (the CLI loads plugins on every run): the commands import
the stack and the app when they run.
"""

from __future__ import annotations

from pathlib import Path

from eventflow_dev.commands import add_commands
from eventflow_local.plugins import ConsoleViews, Plugin

STATIC = Path(__file__).resolve().parent / "static"

#: a console view -> the (method, path) routes of the template's API it reads; on a template
#: without them the view hides itself
NEEDS: dict[str, list[tuple[str, str]]] = {
    "fraud": [("GET", "/accounts"), ("GET", "/accounts/{id}")],
    "quakes": [
        ("GET", "/earthquakes"),
        ("GET", "/earthquakes/alerts"),
        ("GET", "/earthquake-events"),
        ("POST", "/earthquake-events/start"),
        ("POST", "/earthquake-events/stop"),
    ],
    "deadLetters": [("GET", "/dead-letters")],
    "redrive": [("POST", "/dead-letters/{id}/redrive")],
}

plugin = Plugin(
    name="eventflow",
    add_commands=add_commands,
    console=ConsoleViews(folder=STATIC, module="project.js", needs=NEEDS, styles=("project.css",)),
)

__all__ = ["NEEDS", "STATIC", "plugin"]
