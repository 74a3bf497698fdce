"""One event put on a bus of the embedded emulator, as ``PutEvents`` puts it
(``eventsources/eventbridge/put.py``), with the local token; the rules with matching patterns
deliver it to their targets (``eventsources/eventbridge/delivery.py``).

``POST /_console/api/events`` takes ``{"source", "detailType", "detail", "bus"?, "resources"?}``
(no bus: ``default``); ``POST /_console/api/buses/<name or logical id>/events`` the same without
``bus``. Either answers 201 ``{"eventId", "bus"}``, or 404 for a bus the emulator does not have
("PutEvents", https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html:
an entry for a bus that does not exist is refused), 400 naming what PutEvents refuses.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any

from eventflow_local.console.buses_view import bus_named
from eventflow_local.console.sending import (
    Refused,
    Reply,
    answering,
    authorized_body,
    emulator_client,
    json_object,
)

#: PutEvents' limit on an entry
MAX_ENTRY_BYTES = 256 * 1024
USAGE = '{"source": "...", "detailType": "...", "detail": {...}, "bus": "default"}'


@answering
def put_request(req: BaseHTTPRequestHandler, stack: Any, bus: str | None = None) -> Reply:
    """``POST /_console/api/events`` (``bus`` None) or ``/api/buses/<bus>/events``."""
    from eventflow_local.eventsources.eventbridge.put import entry_of, put_event

    raw = authorized_body(req, stack.api_token, 2 * MAX_ENTRY_BYTES)
    if bus is not None:
        row = bus_named(stack, bus)
        if row is None:
            raise Refused(404, f"no event bus {bus}")
        bus = str(row["name"])
    body = json_object(raw, USAGE)
    events = emulator_client(stack, "events")
    try:
        entry = entry_of({**body, "bus": bus} if bus is not None else body)
    except ValueError as exc:  # an entry PutEvents refuses
        raise Refused(400, str(exc)) from None
    _known_bus(events, entry["EventBusName"])
    try:
        event_id = put_event(events, entry)
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    return 201, {"eventId": event_id, "bus": entry["EventBusName"]}


def _known_bus(events: Any, name: str) -> None:
    """``Refused`` 404 when the emulator has no bus ``name`` (a name or ARN)."""
    from botocore.exceptions import ClientError

    try:
        events.describe_event_bus(Name=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise Refused(404, f"no event bus {name}") from None
        raise
