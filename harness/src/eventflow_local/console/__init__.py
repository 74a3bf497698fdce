"""The local console: a web page on the harness's API server (``/_console/``) that shows the
running system: topics and their lag, tables, invocations with their logs, event sources, the
records of OnFailure destinations, and the views that plugins add (eventflow_local/plugins.py),
shown where the template's API has the routes they read.

``activity`` records invocations, ``kafka_view`` and ``tables_view`` read Kafka and DynamoDB
through their real APIs, ``stack_view`` describes the stack's functions and event sources,
``server`` serves the JSON and the server-sent events, ``files`` the page (``static/``),
Swagger UI's files and the plugins' views.
"""

from eventflow_local.console.activity import Activity
from eventflow_local.console.server import PREFIX, ConsoleApp

__all__ = ["PREFIX", "Activity", "ConsoleApp"]
