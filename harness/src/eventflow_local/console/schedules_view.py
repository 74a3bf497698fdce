"""The console's schedules: each rule or Scheduler schedule the stack runs, and "fire now".

``POST /_console/api/schedules/<logical id>/fire`` runs a schedule once, now, whatever its
expression or State: each target function receives what AWS would send it at this time. The
console's button fires in the background (``202``: the invocation shows in the activity as it
ends); ``?wait=1`` (``eventflow-local schedule fire``) answers ``200`` with each target's result
once they end. Like producing a message, it needs the local token.
"""

from __future__ import annotations

from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any

from eventflow_local.apigw.local_token import check as check_auth
from eventflow_local.console.stack_view import RunningStack
from eventflow_local.eventsources.schedule.source import ScheduleEventSource
from eventflow_local.httpserver import read_body


def schedule_sources(sources: Iterable[Any]) -> dict[str, ScheduleEventSource]:
    return {s.spec.logical_id: s for s in sources if isinstance(s, ScheduleEventSource)}


def describe(source: ScheduleEventSource) -> dict[str, Any]:
    spec = source.spec
    return {
        "schedule": spec.logical_id,
        "type": spec.resource_type,
        "name": spec.name,
        "arn": spec.arn,
        "expression": spec.expression,
        "timezone": str(spec.tz),
        "enabled": spec.enabled,
        "nextRun": source.next_run.isoformat() if source.running and source.next_run else None,
        "runs": source.runs,
        "targets": [{"id": t.target_id, "function": t.function} for t in spec.targets],
    }


def listing(stack: RunningStack) -> tuple[int, dict[str, Any]]:
    """``GET /_console/api/schedules``: each schedule the stack runs."""
    return 200, {"schedules": [describe(s) for s in schedule_sources(stack.sources).values()]}


def fire_request(
    req: BaseHTTPRequestHandler, stack: RunningStack, schedule: str, query: dict[str, list[str]]
) -> tuple[int, dict[str, Any]]:
    """``POST /_console/api/schedules/<id>/fire[?wait=1]``, with the local token."""
    read_body(req)
    denied = check_auth(dict(req.headers.items()), stack.api_token)
    if denied is not None:
        return denied[0], {"message": denied[1]}
    wait = (query.get("wait") or [""])[0] in ("1", "true")
    return fire(stack.sources, schedule, wait)


def fire(sources: Iterable[Any], schedule: str, wait: bool) -> tuple[int, dict[str, Any]]:
    """Fire ``schedule`` now: in the background (202), or waiting for its targets (200)."""
    source = schedule_sources(sources).get(schedule)
    if source is None:
        return 404, {"message": f"no running schedule {schedule}"}
    body = describe(source)
    if not wait:
        source.fire_async()
        return 202, {**body, "fired": True}
    results = source.fire()
    body["results"] = [
        {
            "function": target.function,
            "ok": result.ok,
            "payload": result.payload,
            "error": result.error,
            "requestId": result.request_id,
        }
        for target, result in zip(source.spec.targets, results, strict=True)
    ]
    return 200, {**body, "fired": True}
