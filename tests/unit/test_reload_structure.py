"""What reload applies of a saved template's structure, decided without starting anything:
resources created, kept or named for a restart, API and source resources, the schedules and
subscriptions that start again, a changed Kafka mapping's consumer group
(``eventflow_local/runtime/replan.py``, ``eventflow_local/reapply.py``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from eventflow_local.reapply import _inherit, delivery_key
from eventflow_local.runtime.replan import compare, events_key, new_resources, resources
from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import EventSpec

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]
      KeySchema: [{ AttributeName: id, KeyType: HASH }]
      BillingMode: PAY_PER_REQUEST
  Uploads:
    Type: AWS::S3::Bucket
  Jobs:
    Type: AWS::SQS::Queue
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Events:
        Hello:
          Type: Api
          Properties: { Path: /hello, Method: GET }
        Jobs:
          Type: SQS
          Properties: { Queue: !GetAtt Jobs.Arn, BatchSize: 5 }
"""


def _compare(tmp_path: Path, edited: str):  # type: ignore[no-untyped-def]
    (tmp_path / "worker").mkdir(exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    started = SamTemplate(path)
    path.write_text(edited)
    fresh = SamTemplate(path)
    running = started.functions()
    events = {lid: events_key(started, spec) for lid, spec in running.items()}
    found = compare(started, fresh, running, started_events=events, can_add=True)
    return started, fresh, found


def test_a_new_queue_and_table_are_created_and_a_removed_one_is_kept(tmp_path: Path) -> None:
    # GIVEN a template that adds a queue and a table and removes the bucket
    edited = TEMPLATE.replace(
        "  Uploads:\n    Type: AWS::S3::Bucket\n",
        "  More:\n    Type: AWS::SQS::Queue\n  Notes:\n    Type: AWS::Serverless::SimpleTable\n",
    )

    # WHEN compared with the running one
    started, fresh, found = _compare(tmp_path, edited)

    # THEN the new ones are to create, the bucket is kept, nothing needs a restart
    assert (sorted(found.created), found.kept, found.restart) == (
        ["More", "Notes"],
        ["Uploads"],
        [],
    )
    assert sorted(new_resources(resources(started), fresh)) == ["More", "Notes"]


def test_a_new_key_schema_needs_a_restart_and_names_the_property(tmp_path: Path) -> None:
    # GIVEN a table whose key changes (CloudFormation replaces it) and a queue whose attribute does
    edited = TEMPLATE.replace("AttributeName: id, KeyType", "AttributeName: pk, KeyType").replace(
        "    Type: AWS::SQS::Queue\n",
        "    Type: AWS::SQS::Queue\n    Properties: { DelaySeconds: 5 }\n",
    )

    # WHEN compared
    _, _, found = _compare(tmp_path, edited)

    # THEN both are named for a restart with what changed, and stay as they run
    assert found.restart == [
        "Queue Jobs changed (DelaySeconds)",
        "Table Orders changed (KeySchema)",
    ]
    assert found.unapplied == {"Jobs", "Orders"}
    assert not found.structure


def test_a_bucket_s_notifications_and_a_new_api_are_applied_by_sources_and_routes(
    tmp_path: Path,
) -> None:
    # GIVEN a bucket that now notifies the function and a new HTTP API
    notify = (
        "    Type: AWS::S3::Bucket\n    Properties:\n      NotificationConfiguration:\n"
        "        QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Queue: !GetAtt Jobs.Arn }]\n"
    )
    edited = TEMPLATE.replace("    Type: AWS::S3::Bucket\n", notify) + (
        "  Public:\n    Type: AWS::Serverless::HttpApi\n"
    )

    # WHEN compared
    _, _, found = _compare(tmp_path, edited)

    # THEN the sources start again and the route table is built again; no restart
    assert found.sources == ["Bucket Uploads NotificationConfiguration"]
    assert found.apis == ["HttpApi Public added"]
    assert found.restart == []


def test_a_changed_mapping_is_an_events_change_of_its_function(tmp_path: Path) -> None:
    # GIVEN the SQS mapping's batch size changed
    _, _, found = _compare(tmp_path, TEMPLATE.replace("BatchSize: 5", "BatchSize: 2"))

    # THEN its function's events changed (routes and mappings made again), nothing else
    assert (found.events, found.respecified, found.restart) == ({"WorkerFunction"}, {}, [])


def test_schedules_start_again_only_when_a_delivery_changes(tmp_path: Path) -> None:
    # GIVEN the running template's delivery key
    (tmp_path / "worker").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    before = delivery_key(SamTemplate(path), ["WorkerFunction"])

    # WHEN only a route changes, THEN the key is the same
    path.write_text(TEMPLATE.replace("Path: /hello", "Path: /hi"))
    assert delivery_key(SamTemplate(path), ["WorkerFunction"]) == before

    # WHEN a schedule is added, THEN it differs
    schedule = "        Tick:\n          Type: Schedule\n          Properties: { Schedule: rate(1 minute) }\n"
    path.write_text(TEMPLATE + schedule)
    assert delivery_key(SamTemplate(path), ["WorkerFunction"]) != before


def _kafka(topics: tuple[str, ...], position: str, group: str, props: dict) -> SimpleNamespace:  # type: ignore[type-arg]
    config = SimpleNamespace(group_id=group)
    event = EventSpec("Stream", "MSK", props)
    return SimpleNamespace(
        topics=topics, starting_position=position, group_id=group, config=config, event=event
    )


def test_a_changed_kafka_mapping_keeps_its_consumer_group_unless_its_topic_changes() -> None:
    # GIVEN a running mapping with a generated consumer group
    old = _kafka(("orders",), "LATEST", "old-group", {})

    # WHEN its batch size changes (same topic and position), THEN it keeps the group
    same = _kafka(("orders",), "LATEST", "new-group", {"BatchSize": 5})
    before = _inherit(old)
    assert before is not None
    before(same)
    assert (same.group_id, same.config.group_id) == ("old-group", "old-group")

    # WHEN its topic changes, THEN it is a new mapping with a new group (from StartingPosition)
    moved = _kafka(("payments",), "LATEST", "new-group", {})
    before(moved)
    assert moved.group_id == "new-group"

    # WHEN it names its ConsumerGroupId, THEN that group is used
    named = _kafka(("orders",), "LATEST", "mine", {"ConsumerGroupId": "mine"})
    before(named)
    assert named.group_id == "mine"


def test_a_folder_watched_from_a_later_walk_starts_there_and_its_later_saves_are_changes(
    tmp_path: Path,
) -> None:
    import threading

    from eventflow_local.runtime.watch import Watcher

    # GIVEN a watcher of one folder, and a second folder with a file, not watched yet
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "app.py").write_text("A = 1\n")
    roots = [first]
    seen: list[set[Path]] = []
    told = threading.Event()

    def on_change(changed: set[Path]) -> None:
        seen.append(changed)
        told.set()

    watcher = Watcher(lambda: list(roots), on_change, interval=0.05).start()
    try:
        # WHEN the second folder is watched from then on (a function added by a saved template)
        roots.append(second)
        # THEN its file as found is no change
        assert not told.wait(0.6)

        # WHEN it is saved afterwards, THEN that is a change
        (second / "app.py").write_text("A = 22\n")
        assert told.wait(3)
        assert seen == [{second / "app.py"}]
    finally:
        watcher.stop()
