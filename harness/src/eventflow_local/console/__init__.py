"""The local console: a web page on the harness's API server (``/_console/``) that shows the
running system: topics and their lag, tables, invocations with their logs, event sources, dead
letters, and, for this project's template, the accounts board and the earthquake map.

``activity`` records invocations, ``kafka_view`` and ``tables_view`` read Kafka and DynamoDB
through their real APIs, ``stack_view`` describes the stack's functions and event sources,
``server`` serves the JSON, the server-sent events and the static page (``static/``).
"""

from eventflow_local.console.activity import Activity
from eventflow_local.console.server import PREFIX, ConsoleApp

__all__ = ["PREFIX", "Activity", "ConsoleApp"]
