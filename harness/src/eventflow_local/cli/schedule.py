"""``eventflow-local schedule fire <Rule or Schedule logical id>``: run a schedule once, now.

A ``rate(5 minutes)`` is long to wait for, and a ``cron`` or ``at`` longer. With an ``up`` running
on the template's state dir (``state.py``), the running stack fires it: its console endpoint
``POST /_console/api/schedules/<id>/fire?wait=1`` with the local token
(``console/schedules_view.py``), so the function runs with that stack's tables, topics and
workers. With none, the schedule's target functions start alone, as ``invoke`` starts one, and
each receives the event once. Either way each target's result is one JSON line on stdout; the
exit code is 1 when a target failed. ``schedule list`` names the template's schedules.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from eventflow_local.apigw.local_token import auth_headers
from eventflow_local.aws import DEFAULT_REGION
from eventflow_local.cli.args import UsageError
from eventflow_local.state import running_harness


def add_schedule_parser(sub: Any, run_options: Any) -> argparse.ArgumentParser:
    """``schedule fire ID`` and ``schedule list``, with the run options ``invoke`` takes."""
    parser = sub.add_parser(
        "schedule",
        help="fire a schedule (AWS::Events::Rule, AWS::Scheduler::Schedule, SAM Schedule) now",
    )
    parser.add_argument("action", choices=("fire", "list"), help="fire: run it once now")
    parser.add_argument(
        "schedule",
        nargs="?",
        default=None,
        metavar="LOGICAL_ID",
        help="the rule's or schedule's logical id (SAM: <Function><Event>, e.g. FnNightly)",
    )
    run_options(parser)
    return parser


def _schedules(args: argparse.Namespace) -> Any:
    """The template's schedule plan, read as the stack reads it (local Kafka parameters)."""
    from eventflow_local.eventsources.deliveries import read_schedules
    from eventflow_local.planning import PLANNED_BOOTSTRAP, read_template

    template = read_template(args.template, args.overrides, args.region, PLANNED_BOOTSTRAP)
    return read_schedules(template)


def _print_results(results: list[dict[str, Any]]) -> int:
    for result in results:
        print(json.dumps(result, default=str), flush=True)
    return 0 if all(r.get("ok") for r in results) else 1


def _fire_running(running: dict[str, Any], schedule: str) -> int:
    url = f"{running['apiUrl']}/_console/api/schedules/{schedule}/fire?wait=1"
    request = urllib.request.Request(url, data=b"", method="POST", headers=auth_headers())
    try:
        with urllib.request.urlopen(request, timeout=900) as resp:
            body = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        message = json.loads(exc.read() or b"{}").get("message", exc.reason)
        raise UsageError(f"the running stack (pid {running['pid']}): {message}") from None
    print(
        f"fired {schedule} in the running stack (pid {running['pid']})",
        file=sys.stderr,
        flush=True,
    )
    return _print_results(body.get("results") or [])


def cmd_schedule(args: argparse.Namespace, prepare: Any, make_stack: Any, log: Any) -> int:
    args.template = Path(args.template)
    prepare(args)
    args.region = args.region or DEFAULT_REGION
    plan = _schedules(args)
    known = ", ".join(s.logical_id for s in plan.schedules) or "none"
    if args.action == "list":
        for spec in plan.schedules:
            state = "ENABLED" if spec.enabled else "DISABLED"
            targets = ", ".join(t.function for t in spec.targets)
            print(f"{spec.logical_id}\t{spec.resource_type}\t{spec.expression}\t{state}\t{targets}")
        return 0
    if not args.schedule:
        raise UsageError(f"schedule fire needs a logical id: {known}")
    spec = plan.find(args.schedule)
    if spec is None:
        raise UsageError(
            f"{args.schedule}: no schedule with a function target in {args.template} "
            f"(its schedules: {known})"
        )
    running = running_harness(args.state_dir, args.template, log=log)
    if running:
        return _fire_running(running, spec.logical_id)
    functions = sorted({t.function for t in spec.targets})
    stack = make_stack(args, functions)
    results = []
    try:
        stack.start()
        for target in spec.targets:
            result = stack.invoke(
                target.function, spec.event_for(target), trigger=f"fired:{spec.logical_id}"
            )
            results.append(
                {
                    "function": target.function,
                    "ok": result.ok,
                    "payload": result.payload,
                    "error": result.error,
                    "requestId": result.request_id,
                }
            )
    finally:
        stack.stop()
    return _print_results(results)
