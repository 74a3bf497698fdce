"""Publishes each reading of the event to the topic, its severity as a message attribute."""

import json
import os

import boto3


def handler(event, context):
    sns = boto3.client("sns")
    ids = []
    for reading in event["readings"]:
        answer = sns.publish(
            TopicArn=os.environ["TOPIC"],
            Subject=f"reading {reading['id']}",
            Message=json.dumps(reading),
            MessageAttributes={
                "severity": {"DataType": "String", "StringValue": reading["severity"]},
                "level": {"DataType": "Number", "StringValue": str(reading["level"])},
            },
        )
        ids.append(answer["MessageId"])
    return {"published": ids, "topic": os.environ["TOPIC_NAME"]}
