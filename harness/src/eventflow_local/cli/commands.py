"""The harness's own commands: ``up``, ``start-api``, ``invoke`` and ``validate`` (see
``eventflow_local.cli.main``).

Each reads and checks the template and the user's flags before it imports the stack (which takes
a while), so that a mistake is one line at once; ``dynamodb_engine`` is public for plugins'
commands that start a stack of their own.
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
from collections.abc import Callable, Mapping
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
    uses_kafka,
)
from eventflow_local.cli.parser import DEFAULT_REGION
from eventflow_local.runtime.debugging import DebugOptions, debug_options
from eventflow_local.state import running_harness

if TYPE_CHECKING:  # the stack's imports take a while: a user's mistake is reported before them
    from eventflow_local.cli.env_vars import EnvVarsStack
    from eventflow_local.stack import Stack

Log = Callable[[str], None]


# --------------------------------------------------------------------------------- stack
_TRUE = ("1", "true", "yes")


def dynamodb_engine(
    args: argparse.Namespace, environ: Mapping[str, str], log: Log | None = None
) -> dict[str, Any]:
    """``--dynamodb`` / ``$DYNAMODB`` and ``--in-memory`` / ``$DYNAMODB_IN_MEMORY`` as Stack
    options; a contradiction is a ``UsageError``. No choice and no external DynamoDB:
    ``$DYNAMODB_DEFAULT`` (``auto``: ``services/dynamodb_local.default_engine``), said in ``log``."""
    engine = args.dynamodb or (environ.get("DYNAMODB") or "").strip().lower() or None
    if engine not in (None, "moto", "local"):
        raise UsageError(f"DYNAMODB={engine}: the embedded DynamoDB is moto or local")
    in_memory = args.in_memory
    if in_memory is None:
        in_memory = (environ.get("DYNAMODB_IN_MEMORY") or "").strip().lower() in _TRUE
    elif engine != "local":
        raise UsageError("--in-memory goes with --dynamodb local (moto keeps nothing anyway)")
    external = [n for n in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL") if environ.get(n)]
    if engine is not None and external:
        raise UsageError(
            f"--dynamodb {engine} starts an embedded DynamoDB, but {external[0]} names another "
            f"one: unset it or leave out --dynamodb"
        )
    if engine is None and external:
        return {}
    if engine is None:  # the default checks Java and DynamoDB Local itself
        engine = _default_engine(environ, log)
    elif engine == "local":  # Java and npm are named before anything starts
        from eventflow_local.services.dynamodb_local import preflight

        preflight(environ)
    return {"dynamodb": engine, "dynamodb_in_memory": bool(in_memory and engine == "local")}


def _default_engine(environ: Mapping[str, str], log: Log | None) -> str:
    from eventflow_local.services.dynamodb_local import default_engine, preflight

    chosen = (environ.get("DYNAMODB_DEFAULT") or "auto").strip().lower()
    if chosen == "local":
        preflight(environ)
    if chosen in ("moto", "local"):
        return chosen
    if chosen != "auto":
        raise UsageError(f"DYNAMODB_DEFAULT={chosen}: auto, moto or local")
    engine, why = default_engine(environ)
    if log is not None:
        log(f"DynamoDB: {why}; --dynamodb moto|local chooses")
    return engine


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


def _debug(
    args: argparse.Namespace, started: Mapping[str, str], functions: Mapping[str, str]
) -> DebugOptions | None:
    """``-d/--debug-port`` and ``--debug-function`` checked against the functions that run."""
    requested = getattr(args, "debug_function", None)
    return debug_options(args.debug_port, requested, started, functions, args.template)


def _stack(args: argparse.Namespace, log: Log, **options: Any) -> EnvVarsStack:
    from eventflow_local.cli.env_vars import EnvVarsStack

    if "dynamodb_endpoint" not in options:  # a running stack's DynamoDB wins
        options.update(dynamodb_engine(args, os.environ, log))
    return EnvVarsStack(
        env_overrides=args.env_overrides,
        debug=getattr(args, "debug", None),
        template_path=args.template,
        parameters=args.overrides,
        state_dir=args.state_dir,
        region=args.region or DEFAULT_REGION,
        log=log,
        **options,
    )


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


def _port_in_use(port: int, hint: str = " or PORT=N") -> UsageError:
    return UsageError(f"port {port} is already in use: pick another with --port N{hint}")


# --------------------------------------------------------------------------------- up, start-api
def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _check_port(host: str, port: int, hint: str) -> None:
    """A port in use is said at once, before the broker and DynamoDB start (the API server
    binds the same way: ``SO_REUSEADDR``, which still refuses a port someone listens on)."""
    if not port:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except (OSError, OverflowError) as exc:
            if getattr(exc, "errno", None) == errno.EADDRINUSE:
                raise _port_in_use(port, hint) from None
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None


def _serve(
    stack: Stack,
    *,
    state_file: bool,
    address: tuple[str, int] | None = None,
    banner: Callable[[], str] | None = None,
    reload: bool = False,
) -> int:
    """Start ``stack`` and keep it in the foreground until Ctrl-C or SIGTERM, then stop it.
    ``address``: the server the user chose the port of (default: the API's), ``banner``: what
    is said once it is up (default: the stack's summary); ``reload``: saved code and template
    are applied while it runs (``runtime/reload.py``)."""
    host, port = address or (stack.host, stack.port)
    hint = "" if address else " or PORT=N"
    _check_port(host, port, hint)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    reloader = None
    try:
        stack.start()
        if reload:
            from eventflow_local.runtime.reload import Reloader

            reloader = Reloader(stack).start()
        if state_file:
            stack.write_state_file()
        stack.log(banner() if banner else stack.summary())
        if reloader is not None:
            stack.log(
                "Reload on save: saved code, requirements and template apply (--no-reload: off)"
            )
        stack.log("Ready. Ctrl-C stops everything.")
        threading.Event().wait()
    except KeyboardInterrupt:
        stack.log("stopping: event sources, then functions, then Kafka and DynamoDB ...")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _port_in_use(port, hint) from None
        raise
    finally:
        # a second Ctrl-C must not cut the shutdown short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if reloader is not None:
            reloader.stop()
        stack.stop()
        if state_file:
            stack.remove_state_file()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    stack.log("stopped.")
    return 0


def _console(stream: Any = None) -> Log:
    """Thread-safe lines for a running stack (its import is what takes time)."""
    from eventflow_local.output import Console

    return Console(stream)


def _printer(stream: Any) -> Log:
    """Lines before anything runs."""
    return lambda line: print(line, file=stream, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    _, functions = _prepare(args, _printer(sys.stdout))
    args.debug = _debug(args, functions, functions)
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
    return _serve(stack, state_file=True, reload=args.reload)


def cmd_start_api(args: argparse.Namespace) -> int:
    doc, functions = _prepare(args, _printer(sys.stdout))
    served = api_functions(doc, functions, args.template.parent)
    if not served:
        raise UsageError(f"{args.template} has no function with an Api event: nothing to serve")
    args.debug = _debug(args, {lid: functions[lid] for lid in served}, functions)
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
    return _serve(stack, state_file=False, reload=args.reload)


def cmd_start_lambda(args: argparse.Namespace) -> int:
    """``sam local start-lambda``: every function behind the Lambda Invoke API on ``--port``,
    with what they need (tables, queues, secrets on the embedded emulator; the broker when the
    template names Kafka) and nothing that invokes them on its own: no event source pollers,
    no schedules, no API, as SAM CLI's command serves invocations only."""
    doc, _ = _prepare(args, _printer(sys.stdout))
    if args.warm_containers:
        print(
            f"--warm-containers {args.warm_containers}: each function's worker starts now and "
            "stays warm whatever is given",
            flush=True,
        )
    log = _console()
    running = running_harness(args.state_dir, args.template)
    stack = _stack(
        args,
        log,
        api=False,
        event_sources=False,
        kafka=uses_kafka(doc),
        lambda_address=(args.host, args.port),
        **_shared_endpoints(running, log),
    )
    return _serve(
        stack,
        state_file=False,
        address=(args.host, args.port),
        banner=lambda: _lambda_banner(stack),
        reload=args.reload,
    )


def _lambda_banner(stack: Stack) -> str:
    """The stack's summary, the Invoke API's endpoint and what ``start-lambda`` leaves out."""
    url = stack.lambda_api.url if stack.lambda_api else ""
    return "\n".join(
        [
            stack.summary(),
            f'  Lambda       {url}   (Invoke API: boto3.client("lambda", endpoint_url='
            f'"{url}"), aws lambda invoke --endpoint-url {url})',
            "  Not started  event source pollers, schedules and the API: start-lambda serves "
            "invocations only, as `sam local start-lambda` (`up` runs everything)",
        ]
    )


# --------------------------------------------------------------------------------- invoke
def cmd_invoke(args: argparse.Namespace) -> int:
    args.function, args.parameter_overrides = split_function_from_overrides(
        args.function, args.parameter_overrides
    )
    _, functions = _prepare(args, _printer(sys.stderr))
    function = pick_function(args.function, functions, args.template)
    args.debug = _debug(args, {function: functions[function]}, functions)
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


# --------------------------------------------------------------------------------- validate
def cmd_validate(args: argparse.Namespace) -> int:
    """The start-up plan (``planning.plan_stack``): exit 0, or 2 with one line when the
    template is rejected whole (raised as ``TemplateError``, printed by ``main``)."""
    from eventflow_local.planning import plan_stack

    args.template = Path(args.template)
    doc = template_doc(args.template)
    overrides = parse_parameter_overrides(args.parameter_overrides)
    check_parameters(doc, overrides, args.template)
    plan = plan_stack(args.template, overrides, region=args.region or DEFAULT_REGION)
    for line in plan.lines():
        print(line)
    return 0


# --------------------------------------------------------------------------------- schedule
def cmd_schedule(args: argparse.Namespace) -> int:
    """``schedule fire ID`` / ``schedule list`` (eventflow_local/cli/schedule.py)."""
    from eventflow_local.cli.schedule import cmd_schedule as run

    log = _console(sys.stderr)

    def make_stack(args: argparse.Namespace, functions: list[str]) -> EnvVarsStack:
        return _stack(args, log, functions=functions, api=False, event_sources=False)

    return run(args, lambda a: _prepare(a, _printer(sys.stderr)), make_stack, log)


def cmd_events(args: argparse.Namespace) -> int:
    """``events put`` (eventflow_local/cli/events.py)."""
    from eventflow_local.cli.events import cmd_events as run

    return run(args, _console(sys.stderr))


#: the harness's own commands; plugins add theirs (eventflow_local/plugins.py)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "up": cmd_up,
    "invoke": cmd_invoke,
    "start-api": cmd_start_api,
    "start-lambda": cmd_start_lambda,
    "validate": cmd_validate,
    "schedule": cmd_schedule,
    "events": cmd_events,
}
