"""Fixture apps written in the template forms of public SAM apps, run end to end by the harness.

- ``inline_code``: an InlineCode function behind open API routes, storing notes in a SimpleTable;
- ``cfn_plain``: plain CloudFormation, a Lambda function fed from a Kafka topic by an
  ``AWS::Lambda::EventSourceMapping``, writing to an ``AWS::DynamoDB::Table``;
- ``subpackage_handler``: a handler two packages deep under its CodeUri.

The routes send the local bearer token: a template without Auth is open, and a harness that asks
for the token on write routes still answers.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventflow_local.stack import Stack

AUTH = {"Authorization": "Bearer local-dev-token"}


def call(url: str, method: str = "GET", body: str | None = None) -> tuple[int, Any]:
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, method=method, headers=AUTH)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_inline_code_function_answers_from_its_simple_table(run_app: Callable[..., Any]) -> None:
    # GIVEN the inline_code app started
    stack = run_app("inline_code")
    # WHEN a note is written and read back over the API
    put = call(f"{stack.api_url}/notes/n-1", "PUT", "buy milk")
    got = call(f"{stack.api_url}/notes/n-1")
    missing = call(f"{stack.api_url}/notes/n-2")
    # THEN the function wrote to and read from the SimpleTable
    assert put == (200, {"noteId": "n-1", "text": "buy milk"})
    assert got == (200, {"noteId": "n-1", "text": "buy milk"})
    assert missing[0] == 404
    # AND the table is the one SAM makes of the SimpleTable (hash key noteId, on-demand, SSE)
    table = stack.dynamodb_client().describe_table(TableName=stack.table_name("NotesTable"))
    table = table["Table"]
    assert table["KeySchema"] == [{"AttributeName": "noteId", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert stack.refused == []


def test_plain_cloudformation_mapping_feeds_the_function_from_kafka(
    run_app: Callable[..., Any],
    unique_name: Callable[[str], str],
    kafka_producer: Any,
) -> None:
    # GIVEN the cfn_plain app on its own topic and consumer group
    topic, group = unique_name("orders"), unique_name("recorder")
    stack = run_app("cfn_plain", parameters={"OrdersTopic": topic, "ConsumerGroup": group})
    assert topic in stack.topics
    # WHEN an order is produced to the topic
    kafka_producer.send(topic, json.dumps({"orderId": "o-7", "item": "lamp"}).encode())
    kafka_producer.flush()
    # THEN the function, started from AWS::Lambda::Function, records it in the table
    client = stack.dynamodb_client()
    name = stack.table_name("OrdersTable")
    item = None
    deadline = time.monotonic() + 20
    while item is None and time.monotonic() < deadline:
        item = client.get_item(TableName=name, Key={"orderId": {"S": "o-7"}}).get("Item")
        time.sleep(0.2)
    assert item is not None, "\n".join(stack.lines[-30:])
    assert item["item"] == {"S": "lamp"}
    assert item["source"]["S"].startswith(f"{topic}-")
    # AND the template's topic exists in the emulator (services/sns.py), named nowhere as a gap
    topics = stack.dynamo.client("sns").list_topics()["Topics"]
    assert any("OrderEvents" in t["TopicArn"] for t in topics)
    assert not any("OrderEvents" in line for line in stack.skipped)
    assert any(
        line.startswith("RecorderRole (AWS::IAM::Role): no local use") for line in stack.skipped
    )


def test_handler_in_a_sub_package_imports_its_package(run_app: Callable[..., Any]) -> None:
    stack = run_app("subpackage_handler")
    status, body = call(f"{stack.api_url}/hello/ada")
    assert status == 200
    assert body == {"message": "hello, ada", "module": "app.handlers.main"}


def test_a_refused_function_does_not_start_and_the_rest_of_the_stack_does(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # GIVEN a template with a function Lambda refuses (no Handler) next to a good one (a SAM
    # function without Handler is rejected by SAM's transform, the whole template with it)
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Broken:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties: {Code: {ZipFile: 'x = 1'}, Runtime: python3.13}\n"
        "  Fine:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Runtime: python3.13\n"
        "      Handler: index.handler\n"
        "      InlineCode: |\n"
        "        def handler(event, context):\n"
        "            return {'ok': True}\n"
    )
    lines: list[str] = []
    # WHEN the stack starts
    with Stack(
        template_path=tmp_path / "template.yaml",
        bootstrap_servers=kafka_bootstrap,
        port=0,
        environ={},
        state_dir=tmp_path / "state",
        log=lines.append,
    ) as stack:
        # THEN the refusal is reported once with AWS's reason and the good function runs
        assert stack.refused == [
            "Broken: Handler: Runtime and Handler needs to be present when PackageType is of "
            "type `Zip`"
        ]
        assert set(stack.runtimes) == {"Fine"}
        assert stack.invoke("Fine", {}).payload == {"ok": True}
    assert sum(line.startswith("refused: Broken: Handler") for line in lines) == 1
