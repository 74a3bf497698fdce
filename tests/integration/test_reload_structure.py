"""Reload on save applies a template's structure: routes, mappings, new resources, removed
functions (``eventflow_local/reapply.py``), on a copy of ``tests/apps/reload_structure`` edited
while the stack runs."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parent.parent / "apps" / "reload_structure"
HELLO_EVENT = (
    "        Hello:\n          Type: Api\n          Properties: { Path: /hello, Method: GET }\n"
)
BYE_EVENT = "        Bye:\n          Type: Api\n          Properties: { Path: /bye, Method: GET }\n"
NOTES_ENV = "      Environment: { Variables: { NOTES_TABLE: !Ref Notes } }\n"
JOBS_EVENTS = (
    "      Events:\n        Jobs:\n          Type: SQS\n"
    "          Properties: { Queue: !GetAtt Jobs.Arn, BatchSize: 1 }\n"
)
JOBS = f"""
  Notes:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{{ AttributeName: id, AttributeType: S }}]
      KeySchema: [{{ AttributeName: id, KeyType: HASH }}]
      BillingMode: PAY_PER_REQUEST
  Jobs:
    Type: AWS::SQS::Queue
  JobsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: jobs/
{NOTES_ENV}{JOBS_EVENTS}"""


@pytest.fixture
def start(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Callable[..., tuple[Any, Path]]]:
    from eventflow_local.runtime.reload import Reloader
    from eventflow_local.stack import Stack

    running: list[tuple[Any, Reloader]] = []

    def run(rewrite: Callable[[str], str] = lambda text: text) -> tuple[Any, Path]:
        """The app copied (its template rewritten first), started, and reloaded on save."""
        app = tmp_path / "reload_structure"
        shutil.copytree(APP, app)
        template = app / "template.yaml"
        template.write_text(rewrite(template.read_text()))
        lines: list[str] = []

        def log(line: str) -> None:
            lines.append(line)
            print(line)

        stack = Stack(
            template_path=template,
            bootstrap_servers=kafka_bootstrap,
            log=log,
            port=0,
            environ={},
            state_dir=tmp_path / "state",
        )
        stack.lines = lines  # type: ignore[attr-defined]
        stack.start()
        running.append((stack, Reloader(stack, interval=0.1).start()))
        return stack, template

    try:
        yield run
    finally:
        for stack, reloader in running:
            reloader.stop()
            stack.stop()


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def save(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def wait_for(check: Callable[[], Any], timeout: float) -> Any:
    """The first truthy ``check()`` (the last value past ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def reload_line(stack: Any, after: int, timeout: float = 30) -> str:
    """The template reload's line logged after the first ``after`` lines."""
    found = wait_for(
        lambda: [x for x in stack.lines[after:] if x.startswith("reload: template.yaml saved")],
        timeout,
    )
    assert found, stack.lines
    return str(found[0])


@pytest.mark.parametrize(
    ("kind", "removed"),
    [
        ("Api", (403, {"message": "Missing Authentication Token"})),
        ("HttpApi", (404, {"message": "Not Found"})),
    ],
)
def test_a_new_route_answers_and_a_removed_one_is_gone_without_a_restart(
    start: Callable[..., tuple[Any, Path]], kind: str, removed: tuple[int, Any]
) -> None:
    # GIVEN the app running with its GET /hello route in a REST API (Api) or an HTTP API
    stack, template = start(lambda text: text.replace("Type: Api", f"Type: {kind}"))
    assert get(f"{stack.api_url}/hello")[0] == 200

    # WHEN a route is added to the function's events
    seen = len(stack.lines)
    save(template, "      Events:\n", "      Events:\n" + BYE_EVENT.replace("Api", kind))

    # THEN it answers, with the function, and the reload's line names it
    line = reload_line(stack, seen)
    assert "route GET /bye added" in line and "restart to apply" not in line, line
    status, body = get(f"{stack.api_url}/bye")
    assert status == 200 and body["route"] == "GET /bye"

    # AND WHEN the first route is removed, THEN it answers as API Gateway does for no route
    seen = len(stack.lines)
    save(template, HELLO_EVENT.replace("Api", kind), "")
    assert "route GET /hello removed" in reload_line(stack, seen)
    assert get(f"{stack.api_url}/hello") == removed
    assert get(f"{stack.api_url}/bye")[0] == 200


def _note(stack: Any, key: str) -> dict[str, Any] | None:
    item = stack.dynamodb_client().get_item(
        TableName=stack.table_name("Notes"), Key={"id": {"S": key}}
    )
    return item.get("Item")


def test_a_new_queue_table_and_mapped_function_run_and_a_removed_mapping_stops(
    start: Callable[..., tuple[Any, Path]],
) -> None:
    # GIVEN the app running with reload on
    stack, template = start()

    # WHEN a table, a queue and a function mapped to the queue are added, and the running
    # function's environment names the table
    seen = len(stack.lines)
    save(template, "      CodeUri: api/\n", "      CodeUri: api/\n" + NOTES_ENV)
    template.write_text(template.read_text() + JOBS)
    line = reload_line(stack, seen, timeout=60)

    # THEN one line names what was applied, and nothing needs a restart
    for applied in (
        "Table Notes created",
        "Queue Jobs created",
        "new JobsFunction",
        "source JobsFunction.",
    ):
        assert applied in line, line
    assert "restart to apply" not in line

    # AND a message sent with boto3 reaches the new function, which writes it to the new table
    sqs = stack.dynamo.client("sqs")
    queue_url = stack.queues["Jobs"]["Ref"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="first")
    written = wait_for(lambda: _note(stack, "first"), 20)
    assert written is not None and written["by"] == {"S": "jobs"}

    # AND the running function, with the table's name in its environment, writes to it too
    status, body = get(f"{stack.api_url}/hello")
    assert status == 200 and body["table"] == stack.table_name("Notes")
    assert _note(stack, "/hello") == {"id": {"S": "/hello"}, "by": {"S": "api"}}

    # WHEN the mapping is removed from the template
    seen = len(stack.lines)
    save(template, JOBS_EVENTS, "")
    line = reload_line(stack, seen)

    # THEN its poller stops: a message sent now stays in the queue, unread by the function
    assert "source JobsFunction." in line and "stopped" in line, line
    assert not [s for s in stack.sources if getattr(s, "function_name", "") == "JobsFunction"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="second")
    time.sleep(1.5)
    assert _note(stack, "second") is None
    got = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)
    assert [m["Body"] for m in got.get("Messages", [])] == ["second"]


def test_a_removed_function_stops_and_invoke_answers_404(
    start: Callable[..., tuple[Any, Path]],
) -> None:
    # GIVEN the app running with a second function added by a save
    stack, template = start()
    seen = len(stack.lines)
    template.write_text(template.read_text() + JOBS)
    reload_line(stack, seen, timeout=60)
    assert "JobsFunction" in stack.runtimes

    # WHEN the function is removed from the template (its table and queue stay in it)
    seen = len(stack.lines)
    text = template.read_text()  # JobsFunction is last: cut it, add a topic
    template.write_text(
        text[: text.index("  JobsFunction:\n")] + "  Unused:\n    Type: AWS::SNS::Topic\n"
    )
    line = reload_line(stack, seen)

    # THEN its mapping and workers stop and the Lambda Invoke API answers 404 for it
    assert "function JobsFunction stopped (Invoke answers 404)" in line, line
    assert "Topic Unused created" in line
    assert "JobsFunction" not in stack.runtimes
    request = urllib.request.Request(
        f"{stack.lambda_api.url}/2015-03-31/functions/JobsFunction/invocations",
        data=b"{}",
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404
    assert refused.value.headers.get("X-Amzn-ErrorType") == "ResourceNotFoundException"

    # AND WHEN the table is removed from the template, THEN it is kept with its data
    seen = len(stack.lines)
    text = template.read_text()
    start_at, end_at = text.index("  Notes:\n"), text.index("  Jobs:\n")
    template.write_text(text[:start_at] + text[end_at:])
    line = reload_line(stack, seen)
    assert "Table Notes removed from the template: kept (local data is not deleted)" in line
    assert stack.dynamodb_client().describe_table(TableName=stack.table_name("Notes"))


def _streams_app(topic: str, batch: int) -> str:
    return f"""
  Notes:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{{ AttributeName: id, AttributeType: S }}]
      KeySchema: [{{ AttributeName: id, KeyType: HASH }}]
      BillingMode: PAY_PER_REQUEST
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{{ AttributeName: id, AttributeType: S }}]
      KeySchema: [{{ AttributeName: id, KeyType: HASH }}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {{ StreamViewType: NEW_IMAGE }}
  RecordsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: records/
      Environment: {{ Variables: {{ NOTES_TABLE: !Ref Notes }} }}
      Events:
        Kafka:
          Type: MSK
          Properties:
            Stream: arn:aws:kafka:us-east-1:123456789012:cluster/local/00000000-0000-0000-0000-000000000000-1
            Topics: [{topic}]
            StartingPosition: TRIM_HORIZON
            BatchSize: {batch}
            MaximumBatchingWindowInSeconds: 0
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
"""


def _seen(stack: Any, key: str) -> int:
    item = _note(stack, key)
    return int(item["seen"]["N"]) if item else 0


def test_new_kafka_and_stream_mappings_start_and_a_changed_one_goes_on_from_its_offsets(
    start: Callable[..., tuple[Any, Path]], kafka_producer: Any
) -> None:
    import uuid

    # GIVEN the app running with reload on
    stack, template = start()
    topic = f"reload-orders-{uuid.uuid4().hex[:8]}"

    # WHEN a function with a Kafka mapping on a new topic and a DynamoDB stream mapping on a new
    # table with a stream is added
    seen = len(stack.lines)
    template.write_text(template.read_text() + _streams_app(topic, 10))
    line = reload_line(stack, seen, timeout=60)

    # THEN the topic and tables are created, both mappings start, and both deliver
    for applied in ("Table Orders created", f"Kafka topic {topic} created", "new RecordsFunction"):
        assert applied in line, line
    assert line.count("source RecordsFunction.") == 2 and "restart to apply" not in line, line
    kafka_producer.send(topic, b"k1")
    kafka_producer.flush()
    orders = stack.table_name("Orders")
    stack.dynamodb_client().put_item(TableName=orders, Item={"id": {"S": "o1"}})
    assert wait_for(lambda: _seen(stack, "k1") and _seen(stack, "stream:o1"), 30), stack.lines
    (kafka,) = [s for s in stack.sources if getattr(s, "topics", ()) == (topic,)]

    # WHEN the Kafka mapping's batch size changes
    seen = len(stack.lines)
    save(
        template,
        "BatchSize: 10\n            MaximumBatchingWindowInSeconds",
        "BatchSize: 5\n            MaximumBatchingWindowInSeconds",
    )
    line = reload_line(stack, seen)

    # THEN it restarts with the new batch size in the same consumer group: the record already
    # delivered is not delivered again, a new one is; the stream mapping keeps running
    assert "restarted with its new settings" in line and line.count("source ") == 1, line
    (changed,) = [s for s in stack.sources if getattr(s, "topics", ()) == (topic,)]
    assert changed is not kafka
    assert (changed.batch_size, changed.group_id) == (5, kafka.group_id)
    kafka_producer.send(topic, b"k2")
    kafka_producer.flush()
    assert wait_for(lambda: _seen(stack, "k2"), 30), stack.lines
    assert _seen(stack, "k1") == 1
    stack.dynamodb_client().put_item(TableName=orders, Item={"id": {"S": "o2"}})
    assert wait_for(lambda: _seen(stack, "stream:o2"), 30)
    assert _seen(stack, "stream:o1") == 1


SNS_APP = """
  Notes:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]
      KeySchema: [{ AttributeName: id, KeyType: HASH }]
      BillingMode: PAY_PER_REQUEST
  Alerts:
    Type: AWS::SNS::Topic
  RecordsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: records/
      Environment: { Variables: { NOTES_TABLE: !Ref Notes } }
      Events:
        Alert:
          Type: SNS
          Properties: { Topic: !Ref Alerts }
"""


def test_a_new_topic_and_subscribed_function_get_what_is_published_until_unsubscribed(
    start: Callable[..., tuple[Any, Path]],
) -> None:
    # GIVEN the app running with reload on
    stack, template = start()

    # WHEN a topic and a function subscribed to it are added
    seen = len(stack.lines)
    template.write_text(template.read_text() + SNS_APP)
    line = reload_line(stack, seen, timeout=60)

    # THEN the subscriptions start again with it, and a message published reaches the function
    assert "Topic Alerts created" in line, line
    assert "schedules, subscriptions, rules and notifications started again" in line, line
    sns = stack.dynamo.client("sns")
    topic = str(stack.template.ref("Alerts"))  # a topic's Ref is its ARN
    sns.publish(TopicArn=topic, Message="a1")
    assert wait_for(lambda: _seen(stack, "sns:a1"), 20), stack.lines

    # WHEN the subscription is removed from the template
    seen = len(stack.lines)
    save(template, SNS_APP[SNS_APP.index("      Events:") :], "")
    line = reload_line(stack, seen)

    # THEN what is published afterwards no longer reaches the function
    assert "started again" in line, line
    sns.publish(TopicArn=topic, Message="a2")
    time.sleep(1.5)
    assert _seen(stack, "sns:a2") == 0
