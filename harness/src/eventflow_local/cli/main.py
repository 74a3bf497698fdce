"""``eventflow-local`` / ``python -m eventflow_local``: run a SAM template on this machine, as ``sam local``.

    up         the whole template: API, functions, Kafka and DynamoDB event sources, schedules
    invoke     one function once (``sam local invoke``): result JSON on stdout, logs on stderr
    start-api  the API routes and their functions, no event sources (``sam local start-api``)
    start-lambda  the Lambda Invoke API for every function on 127.0.0.1:3001, no event sources
               nor API (``sam local start-lambda``; ``boto3.client("lambda", endpoint_url=...)``)
    generate-event  ``generate-event SERVICE EVENT [options]``: a sample event as the harness
               delivers it (``sam local generate-event``; ``eventflow_local/cli/generate_event.py``)
    validate   what ``up`` would start, name as not emulated and refuse, starting nothing
               (``sam validate``; exit 2 with one line when the template is rejected)
    schedule   ``schedule fire ID``: run a rule's or Scheduler schedule's targets now, in the
               running ``up`` or alone; ``schedule list`` (``eventflow_local/cli/schedule.py``)
    events     ``events put --source S --detail-type T --detail JSON [--bus NAME]``: one event on
               a bus of the running ``up`` (``eventflow_local/cli/events.py``)

and the commands of installed plugins (``eventflow_local/plugins.py``): a project's own tools,
such as one that plays its scenario.

``invoke`` and ``start-api`` take SAM CLI's flags with SAM CLI's meaning: ``-t/--template``
(default ``./template.yaml``), ``-e/--event`` (``-`` = stdin, none = ``{}``), ``-n/--env-vars``,
``--parameter-overrides`` (``--param`` is an alias), ``--region``, ``--host``, ``-p/--port``
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-invoke.html,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-start-api.html).
Every path resolves from the template's folder; the state dir lies beside the template (see
``eventflow_local/state.py``). ``up``, ``invoke``, ``start-api`` and ``validate`` read their
flags' defaults from SAM CLI's ``samconfig.toml`` (``--config-file``, ``--config-env``;
``eventflow_local/cli/samconfig.py``): the command line wins. A user's mistake (unknown function or parameter, missing or malformed file,
port in use), in a command of the harness or of a plugin, ends with one line on stderr and exit
code 2.

Environment: ``PORT`` (API port), ``KAFKA_BOOTSTRAP_SERVERS`` (use that broker instead of the
embedded one; ``KAFKA_WAIT_SECONDS``, default 60, how long to wait for it to boot), ``KAFKA_PORT`` (port of the embedded broker), ``AWS_ENDPOINT_URL_DYNAMODB`` /
``AWS_ENDPOINT_URL`` (use that DynamoDB instead of the embedded one), ``DYNAMODB`` (``moto``,
the default, or ``local``: AWS's DynamoDB Local, as ``--dynamodb``), ``DYNAMODB_IN_MEMORY=1``
(as ``--in-memory``),
``EVENTFLOW_STATE_DIR`` (another state dir), ``EVENTFLOW_LOCAL_PLUGINS`` (plugins that are not
installed, as ``module:attribute,...``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from eventflow_local.cli import samconfig
from eventflow_local.cli.args import UsageError
from eventflow_local.cli.commands import COMMANDS, dynamodb_engine
from eventflow_local.cli.generate_event import cmd_generate_event
from eventflow_local.cli.parser import build_parser
from eventflow_local.plugins import Command, installed
from eventflow_local.template.sam import TemplateError

__all__ = ["build_parser", "dynamodb_engine", "main"]


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    commands: dict[str, Command] = {**COMMANDS, "generate-event": cmd_generate_event}
    plugin_commands: dict[str, Command] = {}
    parser = build_parser(installed(), plugin_commands, _warn)
    try:
        args = samconfig.parse_args(parser, list(sys.argv[1:] if argv is None else argv), _warn)
    except UsageError as exc:  # the configuration file cannot be read
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, run in plugin_commands.items():
        commands.setdefault(name, run)
    try:
        command = commands.get(args.command)
        if command is None:  # a plugin added the parser but not the function that runs it
            raise UsageError(f"`{args.command}` has no function to run it (its plugin's bug)")
        return command(args)
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
