"""``eventflow-local demo | seed | redrive``: this project's own commands, added to the harness's
command line by the plugin (``eventflow_dev.plugin``).

``demo`` and ``seed`` need this project's resources: on another template they say so in one
line and exit 2 (``UsageError``, as the harness's own commands). ``redrive`` works on the
running stack's dead-letter table. Each imports what it runs (the stack, the app) only when it
runs, so that loading the plugin costs the command line nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eventflow_local.aws import DEFAULT_REGION
from eventflow_local.cli.args import check_parameters, parse_parameter_overrides, template_doc
from eventflow_local.cli.parser import engine_options, template_options
from eventflow_local.plugins import Command, SubParsers, UsageError
from eventflow_local.state import running_harness
from eventflow_local.template.sam import DEFAULT_TEMPLATE

DEMO_FUNCTIONS = ("AccountsApiFunction", "TransactionsApiFunction", "MarkFraudFunction")
DEMO_TABLES = ("AccountsTable", "TransactionsTable")


def add_commands(sub: SubParsers) -> dict[str, Command]:
    demo = sub.add_parser(
        "demo", help="this project's scenario end to end over HTTP and Kafka (its template only)"
    )
    template_options(demo)
    engine_options(demo)

    seed = sub.add_parser(
        "seed", help="this project's sample account and transaction into a running `up`"
    )
    seed.add_argument(
        "--api", default=None, help="API URL to show the result through (default: the running one)"
    )
    seed.add_argument(
        "--endpoint", default=None, help="DynamoDB endpoint (default: the running stack's)"
    )
    seed.add_argument(
        "-t", "--template", type=Path, default=DEFAULT_TEMPLATE, help="the running stack's template"
    )
    seed.add_argument(
        "--state-dir", type=Path, default=None, help="where the running stack wrote stack.json"
    )

    redrive = sub.add_parser(
        "redrive", help="send parked records (GET /dead-letters) back to their topics, once each"
    )
    which = redrive.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="a dead letter's id, topic-partition@offset")
    which.add_argument("--all", action="store_true", help="every record not redriven yet")
    redrive.add_argument(
        "-t", "--template", type=Path, default=DEFAULT_TEMPLATE, help="the running stack's template"
    )
    redrive.add_argument(
        "--state-dir", type=Path, default=None, help="where the running stack wrote stack.json"
    )
    return {"demo": cmd_demo, "seed": cmd_seed, "redrive": cmd_redrive}


def own_template_only(
    command: str, doc: Mapping[str, Any], path: Path, needed: Sequence[str]
) -> None:
    """``demo`` and ``seed`` are this project's own: on another template, say so plainly."""
    missing = [lid for lid in needed if lid not in doc["Resources"]]
    if missing:
        raise UsageError(
            f"`{command}` plays this project's own fraud and earthquake scenario and needs its "
            f"resources; {path} has no {', '.join(missing)}. For your app use up, invoke or "
            "start-api."
        )


def cmd_demo(args: argparse.Namespace) -> int:
    from eventflow_dev.demo import run_demo
    from eventflow_local.cli.commands import dynamodb_engine

    doc = template_doc(Path(args.template))
    overrides = parse_parameter_overrides(args.parameter_overrides)
    check_parameters(doc, overrides, args.template)
    own_template_only("demo", doc, args.template, DEMO_FUNCTIONS)
    engine = dynamodb_engine(args, os.environ)
    if engine.get("dynamodb") == "local":
        engine["dynamodb_in_memory"] = True  # the demo's state dir is thrown away afterwards
    return run_demo(template_path=args.template, parameters=overrides, **engine)


def cmd_seed(args: argparse.Namespace) -> int:
    from eventflow_dev.demo import http_json
    from eventflow_dev.seed import SEED_ACCOUNT, SEED_TRANSACTION, seed
    from eventflow_local.services.dynamodb import DynamoEndpoint, endpoint_from_env

    if Path(args.template).is_file():
        own_template_only("seed", template_doc(Path(args.template)), args.template, DEMO_TABLES)
    info = running_harness(args.state_dir, args.template) or {}
    endpoint = args.endpoint or endpoint_from_env(os.environ) or info.get("dynamodbEndpoint")
    if not endpoint:
        print(
            "no running stack found (no stack.json in the state dir): start it with `make up` first",
            file=sys.stderr,
        )
        return 1
    client = DynamoEndpoint.connect(endpoint, info.get("region", DEFAULT_REGION)).dynamodb()
    for what, outcome in seed(client, info.get("tables") or {}).items():
        print(f"{what}: {outcome}")
    api = (args.api or info.get("apiUrl") or "").rstrip("/")
    if api:
        for path in (f"/accounts/{SEED_ACCOUNT['id']}", f"/transactions/{SEED_TRANSACTION['id']}"):
            status, body = http_json("GET", api + path)
            print(f"GET {api}{path} -> {status}\n{json.dumps(body, indent=2)}")
            if status != 200:
                return 1
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    from eventflow_dev.redrive import redriver_for, run_redrive

    try:
        redriver = redriver_for(running_harness(args.state_dir, args.template) or {})
    except LookupError as exc:
        print(str(exc).strip("'\""), file=sys.stderr)
        return 1
    return run_redrive(redriver, args.id, args.all)
