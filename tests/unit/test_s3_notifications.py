"""The notification configurations read from a template's buckets (SAM's S3 events through SAM's
own transform, and a bucket's own configurations), what S3 refuses of them, which object events
each matches, and the event S3 sends."""

from __future__ import annotations

from pathlib import Path

from aws_lambda_powertools.utilities.parser.models import S3Model

from eventflow_local.eventsources.s3.delivery import encode_key, s3_event
from eventflow_local.eventsources.s3.plan import NotificationSpec, plan_notifications
from tests.unit.template_files import load

FUNCTION = """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Runtime: python3.12
      Handler: app.handler
      Events:
        Up:
          Type: S3
          Properties:
            Bucket: !Ref Files
            Events: [s3:ObjectCreated:Put, s3:ObjectRemoved:*]
            Filter: {S3Key: {Rules: [{Name: prefix, Value: in/}]}}
"""


def test_sam_s3_events_become_lambda_configurations_of_their_bucket(tmp_path: Path) -> None:
    # GIVEN a SAM S3 event with two event types and a prefix, beside a queue configuration
    tpl = load(
        tmp_path,
        "Resources:\n"
        "  Files:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      BucketName: my-files\n"
        "      NotificationConfiguration:\n"
        "        QueueConfigurations:\n"
        "          - {Id: copies, Event: s3:ObjectCreated:Copy, Queue: !GetAtt Q.Arn,\n"
        "             Filter: {S3Key: {Rules: [{Name: suffix, Value: .csv}]}}}\n"
        "  Q: {Type: AWS::SQS::Queue}\n" + FUNCTION,
    )
    # WHEN the notifications are read
    plan = plan_notifications(tpl)
    # THEN one bucket with a lambda configuration per event type and the queue's, none refused
    assert not plan.refused and not plan.skipped
    (bucket,) = plan.buckets
    assert (bucket.name, bucket.arn) == ("my-files", "arn:aws:s3:::my-files")
    kinds = sorted((s.kind, s.event, s.prefix, s.suffix, s.function) for s in bucket.specs)
    assert kinds == [
        ("lambda", "s3:ObjectCreated:Put", "in/", "", "Fn"),
        ("lambda", "s3:ObjectRemoved:*", "in/", "", "Fn"),
        ("sqs", "s3:ObjectCreated:Copy", "", ".csv", None),
    ]
    queue = next(s for s in bucket.specs if s.kind == "sqs")
    assert queue.configuration_id == "copies"
    # S3 gives an id to each configuration without one
    assert len({s.configuration_id for s in bucket.specs}) == 3


def test_overlapping_configurations_and_unknown_events_are_refused(tmp_path: Path) -> None:
    # GIVEN a bucket with two lambda configurations on puts, one under in/ and one on any key,
    # and another bucket with an event type S3 does not have
    tpl = load(
        tmp_path,
        "Resources:\n"
        "  Files:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      NotificationConfiguration:\n"
        "        LambdaConfigurations:\n"
        "          - {Event: s3:ObjectCreated:Put, Function: !GetAtt Fn.Arn}\n"
        "  Odd:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      NotificationConfiguration:\n"
        "        QueueConfigurations: [{Event: s3:ObjectCreated:Rename, Queue: !GetAtt Q.Arn}]\n"
        "  Q: {Type: AWS::SQS::Queue}\n" + FUNCTION,
    )
    # WHEN the notifications are read
    plan = plan_notifications(tpl)
    # THEN both buckets are refused, each with S3's reason, and none is delivered
    assert plan.buckets == []
    assert len(plan.refused) == 2, plan.refused
    assert any("Files: " in line and "overlap" in line for line in plan.refused)
    assert any("Odd: " in line and "s3:ObjectCreated:Rename" in line for line in plan.refused)


def test_event_types_and_key_filters_match_as_s3_matches() -> None:
    # GIVEN a configuration for every creation of .json keys under uploads/
    spec = NotificationSpec("B", "sqs", "arn", "s3:ObjectCreated:*", "uploads/", ".json")
    # THEN creations of matching keys match, by any API; removals and other keys do not
    assert spec.matches("ObjectCreated:Put", "uploads/a.json")
    assert spec.matches("ObjectCreated:CompleteMultipartUpload", "uploads/x/y.json")
    assert not spec.matches("ObjectRemoved:Delete", "uploads/a.json")
    assert not spec.matches("ObjectCreated:Put", "uploads/a.txt")
    assert not spec.matches("ObjectCreated:Put", "other/uploads/a.json")
    exact = NotificationSpec("B", "sqs", "arn", "s3:ObjectCreated:Put")
    assert exact.matches("ObjectCreated:Put", "k") and not exact.matches("ObjectCreated:Copy", "k")


def test_the_event_is_s3s_shape_with_the_key_url_encoded() -> None:
    # GIVEN moto's record of a put (its key encoded with quote_plus)
    record = {
        "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {"object": {"key": "in%2Fred+flower%281%29.jpg", "size": 3, "eTag": "abc"}},
    }
    spec = NotificationSpec("B", "lambda", "arn", "s3:ObjectCreated:*", configuration_id="c1")
    from eventflow_local.eventsources.s3.plan import BucketNotifications

    bucket = BucketNotifications("B", "my-files", "arn:aws:s3:::my-files", [spec])
    # WHEN it is made S3's event
    event = s3_event(record, spec, bucket, "0A1B")
    # THEN Powertools' S3 model reads it, with the key as S3 writes it (space as +, / kept)
    (parsed,) = S3Model.model_validate(event).Records
    assert parsed.s3.object.key == "in/red+flower%281%29.jpg" == encode_key("in/red flower(1).jpg")
    assert parsed.s3.configurationId == "c1" and parsed.s3.object.sequencer == "0A1B"
    assert parsed.s3.bucket.ownerIdentity.principalId
    assert parsed.responseElements.x_amz_request_id
