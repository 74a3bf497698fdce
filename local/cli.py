"""``python -m local``: run template.yaml on this machine.

    python -m local up      [--port N] [--kafka-port N] [--template PATH] [--param K=V ...] [--state-dir DIR]
    python -m local invoke  FunctionLogicalId [--event events/<file>.json] [--param K=V ...]
    python -m local demo    [--template PATH]
    python -m local seed    [--api URL] [--endpoint URL] [--state-dir DIR]
    python -m local redrive (ID | --all) [--state-dir DIR]

Environment: ``PORT`` (API port), ``KAFKA_BOOTSTRAP_SERVERS`` (use that broker instead of the
embedded one; ``KAFKA_WAIT_SECONDS``, default 60, how long to wait for it to boot), ``KAFKA_PORT`` (port of the embedded broker), ``AWS_ENDPOINT_URL_DYNAMODB`` /
``AWS_ENDPOINT_URL`` (use that DynamoDB instead of the embedded moto server),
``EVENTFLOW_STATE_DIR`` (default ``.local/``).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .template import DEFAULT_TEMPLATE, TemplateError


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _common(parser: argparse.ArgumentParser, state: bool = True) -> None:
    parser.add_argument(
        "--template",
        type=Path,
        default=DEFAULT_TEMPLATE,
        help="SAM template (default: template.yaml)",
    )
    parser.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter override (repeatable)",
    )
    if state:
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=None,
            help="checkpoints, failure queues, stack.json (default: .local/)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Run template.yaml locally: Kafka, DynamoDB, API Gateway, Lambda.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start everything in the foreground until Ctrl-C")
    up.add_argument("--host", default="127.0.0.1", help="API bind address (default 127.0.0.1)")
    up.add_argument(
        "--port", type=int, default=None, help="API port (default: $PORT or 3000; 0 = a free port)"
    )
    up.add_argument(
        "--kafka-port",
        type=int,
        default=None,
        help="embedded broker port (default: $KAFKA_PORT or a free port)",
    )
    _common(up)

    invoke = sub.add_parser(
        "invoke", help="invoke one function once with an event file (like `sam local invoke`)"
    )
    invoke.add_argument("function", help="logical id of the function in the template")
    invoke.add_argument(
        "--event", "-e", default=None, help="event JSON file ('-' = stdin; default: {})"
    )
    _common(invoke)

    demo = sub.add_parser(
        "demo", help="start the stack, play the seed's scenario over HTTP and Kafka, stop"
    )
    _common(demo, state=False)

    seed = sub.add_parser(
        "seed", help="load the seed's sample account and transaction into a running stack"
    )
    seed.add_argument(
        "--api",
        default=None,
        help="API URL to show the result through (default: the running stack's)",
    )
    seed.add_argument(
        "--endpoint", default=None, help="DynamoDB endpoint (default: the running stack's)"
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
        "--state-dir", type=Path, default=None, help="where the running stack wrote stack.json"
    )
    return parser


# --------------------------------------------------------------------------------- up
def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _running_stack(state_dir: Path | None) -> dict[str, Any] | None:
    """The stack.json of a harness that is still running, if any."""
    from .stack import read_state_file

    info = read_state_file(state_dir)
    if not info:
        return None
    try:
        pid = int(info.get("pid", 0))
        if pid <= 0:
            return None
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return info


def cmd_up(args: argparse.Namespace) -> int:
    from .stack import Stack

    running = _running_stack(args.state_dir)
    if running:
        print(
            f"another harness (pid {running['pid']}) runs with this state dir at {running.get('apiUrl')}; "
            "stop it first or give --state-dir",
            file=sys.stderr,
        )
        return 1
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    stack = Stack(
        template_path=args.template,
        parameters=dict(args.param),
        host=args.host,
        port=args.port,
        kafka_port=args.kafka_port,
        state_dir=args.state_dir,
    )
    try:
        stack.start()
        stack.write_state_file()
        stack.log(stack.summary())
        stack.log("Ready. Ctrl-C stops everything.")
        threading.Event().wait()
    except KeyboardInterrupt:
        stack.log("stopping: event sources, then functions, then Kafka and DynamoDB ...")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"port {stack.port} is already in use: pick another with --port N or PORT=N",
                file=sys.stderr,
            )
            return 1
        raise
    finally:
        # a second Ctrl-C must not cut the shutdown short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        stack.remove_state_file()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    stack.log("stopped.")
    return 0


# --------------------------------------------------------------------------------- invoke
def _read_event(path: str | None) -> Any:
    if path is None:
        return {}
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    return json.loads(text)


def cmd_invoke(args: argparse.Namespace) -> int:
    from .stack import Console, Stack

    log = Console(sys.stderr)
    try:
        event = _read_event(args.event)
    except (OSError, ValueError) as exc:
        print(f"cannot read the event {args.event}: {exc}", file=sys.stderr)
        return 2
    running = _running_stack(args.state_dir)
    endpoints: dict[str, Any] = {}
    if running:
        # share the data and the broker of `make up` unless the environment names others
        if not (os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")):
            endpoints["dynamodb_endpoint"] = running.get("dynamodbEndpoint")
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            endpoints["bootstrap_servers"] = running.get("bootstrapServers")
        log(f"using the running stack's DynamoDB and Kafka (pid {running['pid']})")
    stack = Stack(
        template_path=args.template,
        parameters=dict(args.param),
        state_dir=args.state_dir,
        functions=[args.function],
        api=False,
        event_sources=False,
        log=log,
        **endpoints,
    )
    try:
        stack.start()
        result = stack.invoke(args.function, event, trigger="cli")
    except KeyError as exc:
        print(str(exc).strip("\"'"), file=sys.stderr)
        return 2
    finally:
        stack.stop()
    print(json.dumps(result.payload if result.ok else result.error, indent=2, default=str))
    return 0 if result.ok else 1


# --------------------------------------------------------------------------------- demo, seed
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(template_path=args.template, parameters=dict(args.param))


def cmd_seed(args: argparse.Namespace) -> int:
    from .demo import http_json
    from .dynamo import DynamoEndpoint, endpoint_from_env
    from .seed import SEED_ACCOUNT, SEED_TRANSACTION, seed

    info = _running_stack(args.state_dir) or {}
    endpoint = args.endpoint or endpoint_from_env(os.environ) or info.get("dynamodbEndpoint")
    if not endpoint:
        print(
            "no running stack found (no .local/stack.json): start it with `make up` first",
            file=sys.stderr,
        )
        return 1
    client = DynamoEndpoint.connect(endpoint, info.get("region", "us-east-1")).dynamodb()
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
    from .redrive import redriver_for, run_redrive

    try:
        redriver = redriver_for(_running_stack(args.state_dir) or {})
    except LookupError as exc:
        print(str(exc).strip("'\""), file=sys.stderr)
        return 1
    return run_redrive(redriver, args.id, args.all)


COMMANDS = {
    "up": cmd_up,
    "invoke": cmd_invoke,
    "demo": cmd_demo,
    "seed": cmd_seed,
    "redrive": cmd_redrive,
}


def main(argv: Sequence[str] | None = None) -> int:
    from .broker import BrokerError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except TemplateError as exc:
        print(f"template: {exc}", file=sys.stderr)
        return 2
    except BrokerError as exc:
        print(f"Kafka: {exc}", file=sys.stderr)
        return 1
