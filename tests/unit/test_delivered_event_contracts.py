"""Contract: what the pollers and deliveries build from real service answers validates against
Powertools' parser models.

Each test takes the answer the running harness's poller takes (moto's, as the embedded
emulator serves it: ``GetRecords`` of DynamoDB Streams and Kinesis, ``ReceiveMessage`` of SQS,
SNS's envelope in a subscribed queue, S3's notification record, the event ``PutEvents`` stores)
and builds the event with the function the harness delivers with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import models
from moto import mock_aws

from eventflow_local.aws import LOCAL_ACCOUNT

REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _client(name: str) -> Any:
    return boto3.client(name, region_name=REGION)


def _queue(name: str) -> tuple[str, str]:
    sqs = _client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _receive(url: str) -> list[dict[str, Any]]:
    answer = _client("sqs").receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(answer.get("Messages", []))


def test_dynamodb_stream_records_validate(aws: None) -> None:
    from eventflow_local.events.dynamodb import dynamodb_stream_event

    ddb = _client("dynamodb")
    table = ddb.create_table(
        TableName="Items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    ddb.put_item(TableName="Items", Item={"pk": {"S": "a"}, "n": {"N": "1"}, "b": {"B": b"\x01"}})
    ddb.put_item(TableName="Items", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
    ddb.delete_item(TableName="Items", Key={"pk": {"S": "a"}})
    streams = _client("dynamodbstreams")
    arn = table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    event = dynamodb_stream_event(records, arn)
    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    models.DynamoDBStreamModel.model_validate(event)


def test_sqs_records_validate(aws: None) -> None:
    from eventflow_local.eventsources.sqs.records import sqs_record

    url, arn = _queue("orders")
    _client("sqs").send_message(
        QueueUrl=url,
        MessageBody='{"id": 1}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    records = [sqs_record(m, arn, REGION) for m in _receive(url)]
    assert len(records) == 1
    models.SqsModel.model_validate({"Records": records})


def test_sns_notifications_validate(aws: None) -> None:
    from eventflow_local.eventsources.sns.delivery import lambda_event
    from eventflow_local.eventsources.sns.subscriptions import SubscriptionSpec

    sns = _client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, queue_arn = _queue("alerts-tap")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(
        TopicArn=topic,
        Message="quake",
        Subject="M6",
        MessageAttributes={"region": {"DataType": "String", "StringValue": "north"}},
    )
    sns.publish(TopicArn=topic, Message="no subject")
    spec = SubscriptionSpec(
        logical_id="Sub",
        arn=f"{topic}:1",
        topic_arn=topic,
        protocol="lambda",
        endpoint="arn:aws:lambda:us-east-1:123456789012:function:fn",
        raw=False,
        policy=None,
        fifo_topic=False,
    )
    envelopes = [json.loads(m["Body"]) for m in _receive(url)]
    assert len(envelopes) == 2
    for envelope in envelopes:
        models.SnsModel.model_validate(lambda_event(envelope, spec, REGION))


def test_kinesis_records_validate(aws: None) -> None:
    from eventflow_local.eventsources.kinesis.records import kinesis_event

    kinesis = _client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    kinesis.put_record(StreamName="clicks", Data=b'{"x": 1}', PartitionKey="p1")
    kinesis.put_record(StreamName="clicks", Data=b"\xff\x00", PartitionKey="p2")
    shard = kinesis.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    event = kinesis_event(
        [(shard, r) for r in records],
        stream_arn=arn,
        region=REGION,
        role_arn=f"arn:aws:iam::{LOCAL_ACCOUNT}:role/fn-role",
    )
    parsed: Any = models.KinesisDataStreamModel.model_validate(event)
    assert [r.kinesis.data for r in parsed.Records] == [b'{"x": 1}', b"\xff\x00"]


def test_s3_notifications_validate(aws: None) -> None:
    from eventflow_local.eventsources.s3.delivery import s3_event
    from eventflow_local.eventsources.s3.plan import BucketNotifications, NotificationSpec

    s3 = _client("s3")
    s3.create_bucket(Bucket="uploads")
    url, queue_arn = _queue("uploads-tap")
    s3.put_bucket_notification_configuration(
        Bucket="uploads",
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
            ]
        },
    )
    s3.put_object(Bucket="uploads", Key="in/a file+1.txt", Body=b"hello")
    s3.delete_object(Bucket="uploads", Key="in/a file+1.txt")
    bucket = BucketNotifications(bucket="Uploads", name="uploads", arn="arn:aws:s3:::uploads")
    spec = NotificationSpec(
        bucket="Uploads", kind="lambda", target="", event="s3:ObjectCreated:*", configuration_id="c"
    )
    records = [
        record
        for message in _receive(url)
        for record in json.loads(message["Body"]).get("Records", [])
    ]
    assert {r["eventName"] for r in records} >= {"ObjectCreated:Put"}
    for n, record in enumerate(records):
        event = s3_event(record, spec, bucket, f"{n:016X}")
        parsed: Any = models.S3Model.model_validate(event)
        assert parsed.Records[0].s3.object.key == "in/a+file%2B1.txt"


def test_eventbridge_events_validate(aws: None) -> None:
    from eventflow_local.eventsources.eventbridge.delivery import aws_event

    events = _client("events")
    url, queue_arn = _queue("bus-tap")
    events.put_rule(Name="all", EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule="all", Targets=[{"Id": "tap", "Arn": queue_arn}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": '{"id": 1}'}])
    [message] = _receive(url)
    event = aws_event(json.loads(message["Body"]), LOCAL_ACCOUNT)
    parsed: Any = models.EventBridgeModel.model_validate(event)
    assert (parsed.source, parsed.detail_type, parsed.detail) == ("shop", "Order", {"id": 1})
