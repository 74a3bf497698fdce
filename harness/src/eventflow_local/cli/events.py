"""``eventflow-local events put --source S --detail-type T --detail JSON [--bus NAME]``: one event
on a bus of the running ``up``.

The events go where a user's boto3 or AWS CLI would send them: ``PutEvents`` on the running
stack's emulator endpoint (``servicesEndpoint`` of its ``stack.json``, ``state.py``), so the
rules of that stack match them and deliver to their targets (``eventsources/eventbridge/``). With
no ``up`` running on the template's state dir there is no bus to put on: one line says so. The
event id is printed on stdout.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eventflow_local.cli.args import UsageError
from eventflow_local.state import running_harness


def add_events_parser(sub: Any, template_options: Any) -> argparse.ArgumentParser:
    parser = sub.add_parser("events", help="put an event on an EventBridge bus of the running up")
    parser.add_argument("action", choices=("put",))
    parser.add_argument("--source", required=True, help="the event's source, e.g. shop.orders")
    parser.add_argument("--detail-type", required=True, help="the event's detail-type")
    parser.add_argument("--detail", default="{}", help="the event's detail: a JSON object")
    parser.add_argument("--bus", default="default", help="the bus's name or ARN (default)")
    parser.add_argument(
        "--resources", nargs="*", default=[], metavar="ARN", help="the event's resources"
    )
    template_options(parser)
    parser.add_argument("--state-dir", type=Path, default=None, help="the running up's state dir")
    return parser


def events_client(running: dict[str, Any]) -> Any:
    """An EventBridge client of the running stack's emulator."""
    import boto3

    endpoint = running.get("servicesEndpoint")
    if not endpoint:
        raise UsageError(
            f"the running stack (pid {running.get('pid')}) has no emulator of AWS services "
            "(its DynamoDB is an endpoint of yours): no bus to put on"
        )
    session: Any = boto3.session.Session()
    return session.client(
        "events",
        endpoint_url=endpoint,
        region_name=running.get("region") or "us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def cmd_events(args: argparse.Namespace, log: Any) -> int:
    from eventflow_local.eventsources.eventbridge.put import PutEventError, entry_of, put_event

    try:
        entry = entry_of(
            {
                "source": args.source,
                "detailType": args.detail_type,
                "detail": args.detail,
                "bus": args.bus,
                "resources": args.resources,
            }
        )
    except PutEventError as exc:
        raise UsageError(f"events put: {exc}") from None
    running = running_harness(args.state_dir, args.template, log=log)
    if not running:
        raise UsageError(
            f"events put: no `eventflow-local up` runs on {args.template}: start it first"
        )
    try:
        event_id = put_event(events_client(running), entry)
    except PutEventError as exc:
        raise UsageError(f"events put: bus {entry['EventBusName']}: {exc}") from None
    print(json.dumps({"eventId": event_id, "bus": entry["EventBusName"]}), flush=True)
    return 0
