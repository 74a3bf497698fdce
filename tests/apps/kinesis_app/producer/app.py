"""Puts each reading of the event on the stream, keyed by its sensor."""

import json
import os

import boto3

KINESIS = boto3.client("kinesis")


def handler(event, context):
    sequences = []
    for reading in event["readings"]:
        answer = KINESIS.put_record(
            StreamName=os.environ["STREAM_NAME"],
            Data=json.dumps(reading).encode(),
            PartitionKey=reading["sensor"],
        )
        sequences.append([answer["ShardId"], answer["SequenceNumber"]])
    return {"put": sequences}
