"""One event put on a bus, as ``PutEvents`` takes it: for ``eventflow-local events put`` and the
console's ``POST /_console/api/events``.

"PutEvents" (EventBridge API reference,
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html): an entry has a
``Source``, a ``DetailType`` and a ``Detail`` that is a JSON object (as text), optionally an
``EventBusName`` (a name or ARN; none: ``default``) and ``Resources`` (ARNs). An entry EventBridge
would not take is one line (``PutEventError``); the answer is the event id EventBridge gives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class PutEventError(ValueError):
    """The entry is not one PutEvents takes, or the bus refused it."""


def entry_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """A PutEvents entry of ``{"source", "detailType", "detail", "bus"?, "resources"?}``."""
    source, detail_type = body.get("source"), body.get("detailType")
    if not isinstance(source, str) or not source:
        raise PutEventError("source: a non-empty string is required")
    if not isinstance(detail_type, str) or not detail_type:
        raise PutEventError("detailType: a non-empty string is required")
    detail = body.get("detail", {})
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError as exc:
            raise PutEventError(f"detail: not JSON: {exc}") from None
    if not isinstance(detail, dict):
        raise PutEventError("detail: must be a JSON object")
    entry: dict[str, Any] = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": str(body.get("bus") or "default"),
    }
    resources = body.get("resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise PutEventError("resources: a list of ARNs")
    if resources:
        entry["Resources"] = resources
    return entry


def put_event(client: Any, entry: Mapping[str, Any]) -> str:
    """Put ``entry`` with ``client`` (an EventBridge client); the event id."""
    from botocore.exceptions import ClientError

    try:
        answer = client.put_events(Entries=[dict(entry)])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PutEventError(f"{error.get('Code')}: {error.get('Message')}") from None
    (result,) = answer["Entries"]
    if answer.get("FailedEntryCount") or "EventId" not in result:
        raise PutEventError(f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return str(result["EventId"])
