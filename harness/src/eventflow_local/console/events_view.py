"""``POST /_console/api/events``: one event put on a bus of the embedded emulator, as
``PutEvents`` puts it (``eventsources/eventbridge/put.py``), with the local token; the rules with
matching patterns deliver it to their targets (``eventsources/eventbridge/delivery.py``)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from eventflow_local.apigw.local_token import check as check_auth
from eventflow_local.httpserver import read_body


def put_request(req: BaseHTTPRequestHandler, stack: Any) -> tuple[int, Any]:
    """``{"source", "detailType", "detail", "bus"?, "resources"?}`` -> 201 ``{eventId, bus}``, or
    the 4xx/503 naming the problem."""
    from eventflow_local.eventsources.eventbridge.put import entry_of, put_event

    raw = read_body(req)
    denied = check_auth(dict(req.headers.items()), stack.api_token)
    if denied is not None:
        return denied[0], {"message": denied[1]}
    dynamo = stack.dynamo
    if dynamo is None or not dynamo.emulates_services:
        return 503, {"message": "no embedded emulator serves EventBridge in this stack"}
    try:
        body = json.loads(raw or b"{}")
        entry = entry_of(body if isinstance(body, dict) else {})
        event_id = put_event(dynamo.client("events"), entry)
    except ValueError as exc:  # not JSON, or an entry PutEvents refuses
        return 400, {"message": str(exc)}
    return 201, {"eventId": event_id, "bus": entry["EventBusName"]}
