"""``eventflow-local generate-event SERVICE EVENT [options]``: a sample event on stdout, as
``sam local generate-event`` ("sam local generate-event", AWS SAM CLI command reference,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-generate-event.html).

Why not SAM CLI's own samples: every event here is built by the function the running harness
delivers with (``events/``, the gateways, the pollers of ``eventsources/``), so what a test feeds
``invoke -e`` is what ``up`` sends, field for field. The service and event names are SAM CLI's
(``apigateway aws-proxy``, ``dynamodb update``, ``cloudwatch scheduled-event``, ``sqs
receive-message``, ``sns notification``, ``kinesis get-records``, ``s3 put``/``delete``) and so are
their options (``--body``, ``--method``, ``--path``, ``--stage``, ``--table``, ``--rule``,
``--queue-name``, ``--topic``, ``--subject``, ``--message``, ``--data``, ``--partition-key``,
``--sequence``, ``--bucket``, ``--key``, ``--region``); the shapes SAM CLI has no sample for are
named after what they deliver: ``apigateway http-api-proxy`` (payload format 2.0), ``kafka msk`` /
``kafka self-managed`` (``--topic``, ``--partition``, ``--offset``, ``--key``, ``--value``,
``--header``), ``eventbridge event`` (``--source``, ``--detail-type``, ``--detail``).

No SERVICE lists the services, no EVENT a service's events, as SAM CLI; an unknown service or
event is one line and exit 2. The event is pretty JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventflow_local.cli.args import UsageError
from eventflow_local.cli.sample_events import (
    api_proxy,
    dynamodb_update,
    eventbridge_event,
    http_api_proxy,
    kafka,
    kinesis_get_records,
    s3_notification,
    scheduled_event,
    sns_notification,
    sqs_receive_message,
)

Options = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Sample:
    help: str
    options: Options
    build: Callable[[argparse.Namespace], dict[str, Any]]


def _region(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default="us-east-1", help="the event's region")


def _api(path: str) -> Options:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--body", default='{"test":"body"}', help="the request body (text)")
        parser.add_argument("--method", default="POST", help="the HTTP method")
        parser.add_argument("--path", default=path, help="the request path")
        parser.add_argument("--query", default="", help="the query string, a=1&b=2")
        parser.add_argument(
            "--header", action="append", default=[], metavar="NAME=VALUE", help="a header"
        )

    return add


def _rest_options(parser: argparse.ArgumentParser) -> None:
    _api("/path/to/resource")(parser)
    parser.add_argument("--resource", default="/{proxy+}", help="the API resource's path")
    parser.add_argument("--stage", default="prod", help="the stage")


def _http_options(parser: argparse.ArgumentParser) -> None:
    _api("/path/to/resource")(parser)
    parser.add_argument("--stage", default="$default", help="the stage")


def _kafka_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", default="mytopic", help="the record's topic")
    parser.add_argument("--partition", type=int, default=0, help="the record's partition")
    parser.add_argument("--offset", type=int, default=15, help="the record's offset")
    parser.add_argument("--key", default=None, help="the record's key (text; none: no key)")
    parser.add_argument("--value", default='{"hello":"world"}', help="the record's value (text)")
    parser.add_argument(
        "--header", action="append", default=[], metavar="NAME=VALUE", help="a record header"
    )
    parser.add_argument(
        "--bootstrap-servers", default="127.0.0.1:9092", help="the event's bootstrapServers"
    )
    _region(parser)


def _dynamodb_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", default="ExampleTableWithStream", help="the table's name")
    parser.add_argument(
        "--event-name", choices=("INSERT", "MODIFY", "REMOVE"), default="MODIFY", help="the change"
    )
    parser.add_argument(
        "--keys", default='{"Id": 101}', help="the item's key attributes, a JSON object"
    )
    parser.add_argument("--new-image", default=None, help="the item after, a JSON object")
    parser.add_argument("--old-image", default=None, help="the item before, a JSON object")
    _region(parser)


def _schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule", default="ExampleRule", help="the rule's name")
    _region(parser)


def _eventbridge_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="com.example.app", help="the event's source")
    parser.add_argument("--detail-type", default="Example Event", help="the event's detail-type")
    parser.add_argument("--detail", default="{}", help="the event's detail, a JSON object")
    _region(parser)


def _sqs_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue-name", default="MyQueue", help="the queue's name")
    parser.add_argument("--body", default="Hello from SQS!", help="the message body")
    _region(parser)


def _sns_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", default="ExampleTopic", help="the topic's name")
    parser.add_argument("--subject", default="example subject", help="the message's subject")
    parser.add_argument("--message", default="example message", help="the message")
    _region(parser)


def _kinesis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", default="example-stream", help="the stream's name")
    parser.add_argument("--data", default="Hello, this is a test 123.", help="the record's data")
    parser.add_argument("--partition-key", default="partitionKey-03", help="its partition key")
    parser.add_argument(
        "--sequence",
        default="49545115243490985018280067714973144582180062593244200961",
        help="its sequence number",
    )
    _region(parser)


def _s3_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", default="example-bucket", help="the bucket's name")
    parser.add_argument("--key", default="test/key", help="the object's key")
    _region(parser)


SAMPLES: dict[str, dict[str, Sample]] = {
    "apigateway": {
        "aws-proxy": Sample("REST API proxy request (payload 1.0)", _rest_options, api_proxy),
        "http-api-proxy": Sample(
            "HTTP API proxy request (payload 2.0)", _http_options, http_api_proxy
        ),
    },
    "cloudwatch": {
        "scheduled-event": Sample(
            "EventBridge (CloudWatch Events) scheduled event", _schedule_options, scheduled_event
        ),
    },
    "dynamodb": {
        "update": Sample("DynamoDB stream record", _dynamodb_options, dynamodb_update),
    },
    "eventbridge": {
        "event": Sample(
            "event a rule delivers to its target", _eventbridge_options, eventbridge_event
        ),
        "scheduled-event": Sample(
            "scheduled event (as cloudwatch scheduled-event)", _schedule_options, scheduled_event
        ),
    },
    "kafka": {
        "msk": Sample("Amazon MSK event", _kafka_options, lambda a: kafka(a, self_managed=False)),
        "self-managed": Sample(
            "self-managed Apache Kafka event",
            _kafka_options,
            lambda a: kafka(a, self_managed=True),
        ),
    },
    "kinesis": {
        "get-records": Sample("Kinesis Data Streams event", _kinesis_options, kinesis_get_records),
    },
    "s3": {
        "put": Sample("S3 object created (Put) notification", _s3_options, s3_notification),
        "delete": Sample("S3 object removed (Delete) notification", _s3_options, s3_notification),
    },
    "sns": {
        "notification": Sample("SNS notification", _sns_options, sns_notification),
    },
    "sqs": {
        "receive-message": Sample("SQS event", _sqs_options, sqs_receive_message),
    },
}


def add_generate_event_parser(sub: Any) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "generate-event",
        help="print a sample event the harness delivers (like `sam local generate-event`)",
        add_help=False,
    )
    parser.add_argument("service", nargs="?", default=None, metavar="SERVICE")
    parser.add_argument("event", nargs="?", default=None, metavar="EVENT")
    parser.add_argument("event_args", nargs=argparse.REMAINDER, metavar="OPTIONS")
    return parser


def event_parser(service: str, event: str) -> argparse.ArgumentParser:
    sample = SAMPLES[service][event]
    parser = argparse.ArgumentParser(
        prog=f"eventflow-local generate-event {service} {event}", description=sample.help
    )
    sample.options(parser)
    return parser


def _listing(title: str, rows: dict[str, str]) -> str:
    width = max(map(len, rows))
    return "\n".join([title, *(f"  {name:<{width}}  {text}" for name, text in rows.items())])


def generate(service: str, event: str, argv: list[str]) -> dict[str, Any]:
    """The event of ``service event`` with ``argv``'s options; UsageError for a bad name or
    value."""
    events = SAMPLES.get(service)
    if events is None:
        raise UsageError(f"generate-event: no service {service!r} (one of {', '.join(SAMPLES)})")
    if event not in events:
        raise UsageError(
            f"generate-event: {service} has no event {event!r} (one of {', '.join(events)})"
        )
    args = event_parser(service, event).parse_args(argv)
    args.sample_event = event
    try:
        return events[event].build(args)
    except ValueError as exc:
        raise UsageError(f"generate-event {service} {event}: {exc}") from None


def cmd_generate_event(args: argparse.Namespace) -> int:
    if args.service in (None, "-h", "--help"):
        print(_listing("Services (eventflow-local generate-event SERVICE):", _services()))
        return 0
    if args.event in (None, "-h", "--help") and args.service in SAMPLES:
        rows = {name: sample.help for name, sample in SAMPLES[args.service].items()}
        print(_listing(f"Events of {args.service} (then --help for its options):", rows))
        return 0
    event = generate(args.service, args.event or "", list(args.event_args))
    json.dump(event, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _services() -> dict[str, str]:
    return {name: ", ".join(events) for name, events in SAMPLES.items()}
