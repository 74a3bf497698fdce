"""Writes what a function saw to the seen table: one item per thing, keyed ``<source>#<key>``."""

import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["SEEN_TABLE"])


def record(source, key, seen):
    TABLE.put_item(Item={"pk": f"{source}#{key}", "source": source, "seen": json.dumps(seen)})
