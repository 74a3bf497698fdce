"""Puts the documents it is given into the bucket, as a function of the app would."""

import json
import os

import boto3


def handler(event, context):
    s3 = boto3.client("s3")
    for key, document in event["documents"].items():
        s3.put_object(Bucket=os.environ["BUCKET"], Key=key, Body=json.dumps(document).encode())
    listed = s3.list_objects_v2(Bucket=os.environ["BUCKET"])
    return {
        "bucket": os.environ["BUCKET"],
        "arn": os.environ["BUCKET_ARN"],
        "domain": os.environ["BUCKET_DOMAIN"],
        "keys": sorted(o["Key"] for o in listed.get("Contents", [])),
    }
