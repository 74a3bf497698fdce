"""The console's messaging endpoints, registered by ``console/server.py``: what the template's
queues, SNS topics, EventBridge buses and Kinesis streams hold or do, and sending to each.

    GET  /api/queues                          queues_view: counts, dead-letter queues
    POST /api/queues/<queue>/messages         queues_view: SendMessage
    GET  /api/sns/topics                      sns_view: topics and their subscriptions
    POST /api/sns/topics/<topic>/messages     sns_view: Publish
    GET  /api/buses                           buses_view: buses and their rules
    POST /api/buses/<bus>/events              events_view: PutEvents on that bus
    POST /api/events                          events_view: PutEvents (the bus in the body)
    GET  /api/streams                         streams_view: shards and the mappings reading them
    POST /api/streams/<stream>/records        streams_view: PutRecord

SNS topics are under ``/api/sns/``: ``/api/topics`` are the Kafka topics. Every POST needs the
local token; each answers as ``console/sending.py`` says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote

from eventflow_local.console import buses_view, events_view, queues_view, sns_view, streams_view
from eventflow_local.console.sending import Reply

Route = tuple[str, re.Pattern[str], Callable[..., Reply]]
NAME = r"(?P<name>[^/]+)"


def routes(stack: Any) -> list[Route]:
    """The messaging routes of the console of ``stack`` (read when a request comes)."""
    services = cast(queues_view.ServicesStack, stack)
    table: list[tuple[str, str, Callable[..., Reply]]] = [
        ("GET", "/api/queues", lambda **_: queues_view.listing(services)),
        (
            "POST",
            f"/api/queues/{NAME}/messages",
            lambda req, name, **_: queues_view.send_request(req, services, unquote(name)),
        ),
        ("GET", "/api/sns/topics", lambda **_: sns_view.listing(stack)),
        (
            "POST",
            f"/api/sns/topics/{NAME}/messages",
            lambda req, name, **_: sns_view.publish_request(req, stack, unquote(name)),
        ),
        ("GET", "/api/buses", lambda **_: buses_view.listing(stack)),
        (
            "POST",
            f"/api/buses/{NAME}/events",
            lambda req, name, **_: events_view.put_request(req, stack, unquote(name)),
        ),
        ("POST", "/api/events", lambda req, **_: events_view.put_request(req, stack)),
        ("GET", "/api/streams", lambda **_: streams_view.listing(stack)),
        (
            "POST",
            f"/api/streams/{NAME}/records",
            lambda req, name, **_: streams_view.put_request(req, stack, unquote(name)),
        ),
    ]
    return [(verb, re.compile(path), handler) for verb, path, handler in table]
