"""The template's SQS queues exist in the embedded moto server with their properties, and
``!Ref`` / ``!GetAtt`` of them are the emulator's values (services/sqs.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventflow_local.eventsources.destinations import DestinationError, FailureDestinations
from eventflow_local.eventsources.sqs.poller import SqsEventSource
from eventflow_local.services.dynamodb import DynamoEndpoint
from eventflow_local.services.sqs import ensure_queues
from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import EventSpec
from tests.integration.faults import wait_for

pytestmark = pytest.mark.integration

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 2
      MessageRetentionPeriod: 600
      DelaySeconds: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dead.Arn
        maxReceiveCount: 2
  Dead:
    Type: AWS::SQS::Queue
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders.fifo
      FifoQueue: true
      ContentBasedDeduplication: true
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(event, context): return None"
      Environment:
        Variables:
          QUEUE_URL: !Ref Work
          QUEUE_ARN: !GetAtt Work.Arn
          ORDERS_URL: !GetAtt Orders.QueueUrl
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[DynamoEndpoint]:
    started = DynamoEndpoint.embedded()
    yield started
    started.stop()


def attributes(client: Any, url: str) -> dict[str, str]:
    return dict(client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


def test_queues_are_created_with_their_properties_and_the_dlq_first(
    tmp_path: Path, endpoint: DynamoEndpoint
):
    # GIVEN a template whose queue names a dead-letter queue declared after it, and a FIFO queue
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    template = SamTemplate(tmp_path / "template.yaml")
    # WHEN its queues are created
    queues, skipped, refused = ensure_queues(template, endpoint)
    # THEN each exists with its properties, the redrive policy naming the real DLQ's ARN
    assert (skipped, refused) == ([], [])
    client = endpoint.client("sqs")
    work = attributes(client, queues["Work"]["QueueUrl"])
    assert work["VisibilityTimeout"] == "2"
    assert work["MessageRetentionPeriod"] == "600"
    assert work["DelaySeconds"] == "1"
    assert json.loads(work["RedrivePolicy"]) == {
        "deadLetterTargetArn": queues["Dead"]["Arn"],
        "maxReceiveCount": 2,
    }
    orders = attributes(client, queues["Orders"]["Ref"])
    assert orders["FifoQueue"] == "true" and orders["ContentBasedDeduplication"] == "true"
    # ... named as CloudFormation names them (generated: <stack>-<LogicalId>-<suffix>)
    assert queues["Orders"]["QueueName"] == "orders.fifo"
    assert queues["Work"]["QueueName"] == template.get_att("Work", "QueueName")
    assert queues["Work"]["QueueName"].startswith(f"{template.stack_name}-Work-")

    # AND the template read with their physical ids gives a function the emulator's URL and ARN
    env = template.with_physical_ids(queues).functions()["Fn"].environment
    assert env["QUEUE_URL"] == queues["Work"]["Ref"] == queues["Work"]["QueueUrl"]
    assert env["QUEUE_URL"].startswith(endpoint.services_url or "-")
    assert env["QUEUE_ARN"] == work["QueueArn"]
    assert env["ORDERS_URL"] == queues["Orders"]["QueueUrl"]
    client.send_message(QueueUrl=env["QUEUE_URL"], MessageBody="hello")

    # AND created again (a second start on the same server), the queues are reused
    again, _, _ = ensure_queues(template, endpoint)
    assert again == queues


def test_queues_on_an_endpoint_without_other_services_are_named_not_emulated(tmp_path: Path):
    # GIVEN a DynamoDB endpoint of the user's that serves nothing else
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    template = SamTemplate(tmp_path / "template.yaml")
    external = DynamoEndpoint("http://127.0.0.1:9", "external")
    # WHEN the queues are ensured
    queues, skipped, refused = ensure_queues(template, external)
    # THEN none is made and each is named once
    assert queues == {} and refused == []
    assert skipped[0] == (
        "Work: AWS::SQS::Queue is created only on the embedded moto server or LocalStack, "
        "not on http://127.0.0.1:9"
    )
    assert len(skipped) == 3


def test_a_queue_sqs_refuses_is_refused_and_the_others_are_made(
    tmp_path: Path, endpoint: DynamoEndpoint
):
    # GIVEN a FIFO queue whose name lacks the .fifo suffix SQS requires, beside a valid queue
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Bad:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: bad, FifoQueue: true}\n"
        "  Good:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: good-one}\n"
    )
    # WHEN they are created
    queues, _, refused = ensure_queues(SamTemplate(tmp_path / "template.yaml"), endpoint)
    # THEN SQS's reason is given for the bad one, and the good one exists
    assert list(queues) == ["Good"]
    assert len(refused) == 1 and refused[0].startswith("Bad: ")


def test_an_onfailure_queue_is_the_emulators_queue_read_with_receive_message(
    tmp_path: Path, endpoint: DynamoEndpoint
):
    # GIVEN failure destinations on the emulator, and a queue made there
    sqs = endpoint.client("sqs")
    url = sqs.create_queue(QueueName="failures-here")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    destinations = FailureDestinations(tmp_path, clients=endpoint.client)
    # WHEN a mapping sends a failure record (a Kafka one, with the record as payload) to it
    destination = destinations.resolve(arn)
    record = {"requestContext": {"condition": "RetryAttemptsExhausted"}, "payload": {"big": 1}}
    destination.send(record)
    # THEN a user receives it from the queue: the metadata, without the payload (that goes to
    # Kafka and S3 destinations only), and nothing is written under the state dir
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"]) == {"requestContext": record["requestContext"]}
    assert not (tmp_path / "destinations").exists()
    assert destinations.sent() == {"failures-here": [{"requestContext": record["requestContext"]}]}

    # AND a queue the emulator does not have is named at start-up
    with pytest.raises(DestinationError) as caught:
        destinations.resolve("arn:aws:sqs:us-east-1:123456789012:nowhere")
    assert "no queue 'nowhere' in the embedded emulator" in str(caught.value)
    assert "declare it in the template as an AWS::SQS::Queue" in str(caught.value)


class Recorder:
    """A function runtime that records its events and fails the batches ``fail`` picks."""

    function_name = "Worker"

    def __init__(self, fail: Any = lambda records: False) -> None:
        self.events: list[list[dict[str, Any]]] = []
        self.fail = fail

    def invoke(self, event: dict[str, Any], *, trigger: str = "", batch_size: int = 0) -> Any:
        from eventflow_local.runtime.invocation import InvocationResult

        records = event["Records"]
        self.events.append(records)
        if self.fail(records):
            return InvocationResult(False, error={"errorType": "E", "errorMessage": "failed"})
        return InvocationResult(True, payload=None)


def source_for(endpoint: DynamoEndpoint, arn: str, runtime: Any, **props: Any) -> SqsEventSource:
    event = EventSpec("Jobs", "SQS", {"Queue": arn, **props})
    return SqsEventSource("Worker", event, runtime, endpoint.client("sqs"), region="us-east-1")


def make_queue(endpoint: DynamoEndpoint, name: str, **attributes: str) -> tuple[str, str]:
    sqs = endpoint.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def test_a_fifo_queue_is_handled_in_order_per_group_even_when_a_batch_fails(
    endpoint: DynamoEndpoint,
):
    # GIVEN a FIFO queue (1 s visibility) holding two groups of five, and a function whose first
    # batch of group g1 fails once
    url, arn = make_queue(
        endpoint,
        "ordered.fifo",
        FifoQueue="true",
        ContentBasedDeduplication="true",
        VisibilityTimeout="1",
    )
    sqs = endpoint.client("sqs")
    for n in range(5):
        for group in ("g1", "g2"):
            sqs.send_message(QueueUrl=url, MessageBody=f"{group}-{n}", MessageGroupId=group)
    failed: list[bool] = []

    def fail_first_g1(records: list[dict[str, Any]]) -> bool:
        if not failed and records[0]["attributes"]["MessageGroupId"] == "g1":
            failed.append(True)
            return True
        return False

    runtime = Recorder(fail_first_g1)
    source = source_for(endpoint, arn, runtime, BatchSize=3)
    # WHEN the mapping runs until every message is handled
    source.start()
    try:
        handled = lambda: [r["body"] for batch in runtime.events[1:] for r in batch]  # noqa: E731
        wait_for(lambda: len(set(handled())) == 10, 20, "all ten messages")
    finally:
        source.stop()
    # THEN each group's messages were handled in order, the failed batch again from its start
    # (after the visibility timeout), and no batch mixed a group's messages out of order
    for group in ("g1", "g2"):
        seen = [b for b in handled() if b.startswith(group)]
        assert seen == sorted(seen) == [f"{group}-{n}" for n in range(5)]
    assert runtime.events[0][0]["attributes"]["MessageGroupId"] == "g1"
    retried = [b for b in runtime.events[1:] if b[0]["body"] == runtime.events[0][0]["body"]]
    assert retried and retried[0][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert {"MessageGroupId", "MessageDeduplicationId"} <= set(runtime.events[0][0]["attributes"])


def test_a_batching_window_gathers_one_batch_and_filtered_messages_are_deleted(
    endpoint: DynamoEndpoint,
):
    # GIVEN a queue and a mapping of batch size 20 with a 1 s window that keeps kind=keep only
    url, arn = make_queue(endpoint, "windowed")
    sqs = endpoint.client("sqs")
    runtime = Recorder()
    pattern = {"messageAttributes": {"kind": {"stringValue": ["keep"]}}}
    source = source_for(
        endpoint,
        arn,
        runtime,
        BatchSize=20,
        MaximumBatchingWindowInSeconds=1,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )
    source.start()
    try:
        # WHEN 15 messages to keep and 5 others are sent within the window
        for n in range(20):
            kind = "keep" if n % 4 else "drop"
            sqs.send_message(
                QueueUrl=url,
                MessageBody=str(n),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
            )
        wait_for(lambda: source.stats["deleted"] >= 20, 20, "every message deleted")
    finally:
        source.stop()
    # THEN the 15 kept messages came as one batch, and the others were deleted unseen
    assert [len(batch) for batch in runtime.events] == [15]
    assert source.stats["filtered"] == 5
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
