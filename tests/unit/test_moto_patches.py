"""The embedded emulator's TransactWriteItems answers like moto's own, without copying tables;
the patches live in the harness's moto server process only, never in a test's ``mock_aws``; a
patch whose moto internals are not there as expected is left out and named in one line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import moto.dynamodb.exceptions as moto_exceptions
import moto.dynamodb.responses as responses
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from eventflow_local.services import moto_patches, moto_server, moto_shape
from eventflow_local.services.dynamodb import DynamoEndpoint

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "apps" / "cli_app"
BACKEND = "moto.dynamodb.models:DynamoDBBackend"
ORIGINAL = DynamoDBBackend.transact_write_items
# moto 5.0 has neither name in its request layer, 5.1.0 only the second
ORIGINAL_CONDITION = getattr(responses, "create_condition_expression_parser", None)
ORIGINAL_UPDATE_PARSER = getattr(responses, "UpdateExpressionParser", None)
FAST_PATH_LEFT_OUT = (
    "the TransactWriteItems fast path does not apply to this version; "
    "moto's own path runs (slower on large tables)"
)


def restore() -> None:
    DynamoDBBackend.transact_write_items = ORIGINAL  # type: ignore[method-assign]
    for name, original in (
        ("create_condition_expression_parser", ORIGINAL_CONDITION),
        ("UpdateExpressionParser", ORIGINAL_UPDATE_PARSER),
    ):
        if original is not None:
            setattr(responses, name, original)
    moto_patches._APPLIED = False
    moto_patches._NOTICE = None


def put_item_of_another_moto(self, table_name, item, *, names=None, values=None):
    """A backend ``put_item`` whose keywords are not the ones the fast path passes."""
    raise AssertionError("never called: the fast path is left out")


def scenario(client) -> list:
    """Run the same transactions and return everything a caller can observe."""
    client.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    seen = []

    def run(items):
        try:
            client.transact_write_items(TransactItems=items)
            seen.append("ok")
        except ClientError as exc:
            seen.append((exc.response["Error"]["Code"], exc.response.get("CancellationReasons")))

    put = lambda k, **c: {"Put": {"TableName": "t", "Item": {"id": {"S": k}, "n": {"N": "1"}}, **c}}  # noqa: E731
    run([put("a"), put("b")])
    run(
        [
            put("a", ConditionExpression="attribute_not_exists(id)"),
            put("c"),
            put("b", ConditionExpression="attribute_not_exists(id)"),
        ]
    )
    run(
        [
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"id": {"S": "a"}},
                    "UpdateExpression": "SET n = :v",
                    "ConditionExpression": "n = :two",
                    "ExpressionAttributeValues": {":v": {"N": "5"}, ":two": {"N": "2"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
    )
    run([put("d"), put("d")])
    run(
        [
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"id": {"S": "a"}},
                    "UpdateExpression": "ADD n :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}},
                }
            },
            {"Delete": {"TableName": "t", "Key": {"id": {"S": "b"}}}},
        ]
    )
    for _ in range(2):  # the same condition and update text again: parsed once, same answers
        run([put("a", ConditionExpression="attribute_not_exists(id)")])
        run(
            [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"id": {"S": "a"}},
                        "UpdateExpression": "SET #n = :v",
                        "ConditionExpression": "#n = :old",
                        "ExpressionAttributeNames": {"#n": "n"},
                        "ExpressionAttributeValues": {":v": {"N": "9"}, ":old": {"N": "8"}},
                    }
                }
            ]
        )
        run(
            [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"id": {"S": "a"}},
                        "UpdateExpression": "SET n = = :v",
                        "ExpressionAttributeValues": {":v": {"N": "1"}},
                    }
                }
            ]
        )
        run(
            [
                put(
                    "f",
                    ConditionExpression="attribute_not_exists(id)",
                    ExpressionAttributeNames={"#unused": "x"},
                )
            ]
        )
        names = {"#n": "n", "#m": "m"}
    values = {":v": {"N": "7"}, ":w": {"S": "x"}}
    for key in ("a", "zz"):  # an existing item, and an upsert
        run(
            [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"id": {"S": key}},
                        "UpdateExpression": "SET #n = :v, #m = :w",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            ]
        )
    seen.append(
        sorted(
            sorted((k, str(v)) for k, v in i.items()) for i in client.scan(TableName="t")["Items"]
        )
    )
    seen.append(sorted((i["id"]["S"], i["n"]["N"]) for i in client.scan(TableName="t")["Items"]))
    return seen


def observe(patched: bool) -> list:
    restore()
    if patched:
        moto_patches.apply()
    try:
        with mock_aws():
            return scenario(boto3.client("dynamodb", region_name="us-east-1"))
    finally:
        restore()


def test_same_answers_as_moto():
    expected = observe(patched=False)
    assert expected[-1] == [("a", "7"), ("zz", "7")]  # b deleted, c never written, zz upserted
    assert observe(patched=True) == expected


def test_the_patch_does_not_copy_tables(monkeypatch):
    import copy

    calls = []
    real = copy.deepcopy
    monkeypatch.setattr(
        copy, "deepcopy", lambda x, *a: calls.append(type(x).__name__) or real(x, *a)
    )
    observe(patched=True)
    assert "Table" not in calls


def test_the_harness_server_answers_as_stock_moto():
    expected = observe(patched=False)
    endpoint = DynamoEndpoint.embedded()
    try:
        assert scenario(endpoint.dynamodb()) == expected
    finally:
        endpoint.stop()


def test_mock_aws_beside_a_running_harness_is_stock_moto(monkeypatch):
    # GIVEN a running harness server with a table of its own
    endpoint = DynamoEndpoint.embedded()
    try:
        harness = endpoint.dynamodb()
        harness.create_table(
            TableName="harness-table",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        import copy

        calls = []
        real = copy.deepcopy
        monkeypatch.setattr(
            copy, "deepcopy", lambda x, *a: calls.append(type(x).__name__) or real(x, *a)
        )
        # WHEN a test of the same process uses mock_aws
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            # THEN it gets moto as released: its own code, its own (empty) data ...
            assert DynamoDBBackend.transact_write_items is ORIGINAL
            assert getattr(responses, "create_condition_expression_parser", None) is (
                ORIGINAL_CONDITION
            )
            assert getattr(responses, "UpdateExpressionParser", None) is ORIGINAL_UPDATE_PARSER
            assert client.list_tables()["TableNames"] == []
            scenario(client)
        # ... whose transactions copy whole tables, as stock moto 5 does
        assert "Table" in calls
        # AND mock_aws resetting its backends did not touch the harness's tables
        assert harness.list_tables()["TableNames"] == ["harness-table"]
    finally:
        endpoint.stop()


# ------------------------------------------------------------------ checked against moto
def test_every_patch_fits_the_moto_installed_beside_the_harness():
    # GIVEN the moto of this venv (within harness/pyproject.toml's range)
    # WHEN the server process applies the patches
    notice = moto_patches.apply()
    # THEN each fits: nothing to say, and what they replace is replaced
    assert notice is None
    assert all(not patch.problems() for patch in moto_patches.PATCHES)
    assert DynamoDBBackend.transact_write_items is not ORIGINAL
    assert responses.create_condition_expression_parser is not ORIGINAL_CONDITION
    assert responses.UpdateExpressionParser is not ORIGINAL_UPDATE_PARSER


def test_a_patch_whose_moto_internals_changed_is_left_out_and_named_in_one_line(
    monkeypatch, caplog
):
    # GIVEN a moto whose backend put_item takes other keywords than the fast path passes
    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item_of_another_moto)
    monkeypatch.setattr(moto_shape, "version", lambda: "5.0.3")
    # WHEN the patches are applied
    notice = moto_patches.apply()
    # THEN one line names the version and what runs unpatched
    assert notice == f"moto 5.0.3: {FAST_PATH_LEFT_OUT}"
    # AND moto's own TransactWriteItems stays, while the caches, which fit, are in
    assert DynamoDBBackend.transact_write_items is ORIGINAL
    assert responses.create_condition_expression_parser is not ORIGINAL_CONDITION
    assert responses.UpdateExpressionParser is not ORIGINAL_UPDATE_PARSER
    # AND the log names the internal that did not fit; a second apply says the same line
    assert f"{BACKEND}.put_item takes other arguments" in caplog.text
    assert moto_patches.apply() == notice


def test_a_moto_without_the_parsers_the_caches_replace_keeps_its_own(monkeypatch):
    # GIVEN a moto whose request layer has neither parser the caches replace (as moto 5.0)
    monkeypatch.delattr(responses, "create_condition_expression_parser")
    monkeypatch.delattr(responses, "UpdateExpressionParser")
    monkeypatch.setattr(moto_shape, "version", lambda: "5.0.0")
    # WHEN the patches are applied
    notice = moto_patches.apply()
    # THEN both caches are named in one line, and the fast path, which fits, is in
    assert notice == (
        "moto 5.0.0: the condition-expression cache and the update-expression cache do not "
        "apply to this version; moto's own paths run (expressions parsed on each request)"
    )
    assert not hasattr(responses, "create_condition_expression_parser")
    assert DynamoDBBackend.transact_write_items is not ORIGINAL


def test_with_the_fast_path_left_out_transactions_are_moto_s_own(monkeypatch):
    # GIVEN a moto without an exception class the fast path raises (moto's own code keeps
    # the class it imported, so it still runs)
    expected = observe(patched=False)
    monkeypatch.delattr(moto_exceptions, "TransactWriteSingleOpException")
    import copy

    calls = []
    real = copy.deepcopy
    monkeypatch.setattr(
        copy, "deepcopy", lambda x, *a: calls.append(type(x).__name__) or real(x, *a)
    )
    # WHEN the patches are applied and the same transactions run
    assert FAST_PATH_LEFT_OUT in (moto_patches.apply() or "")
    with mock_aws():
        seen = scenario(boto3.client("dynamodb", region_name="us-east-1"))
    # THEN the answers are moto's, from moto's own path (which copies the tables)
    assert seen == expected
    assert "Table" in calls


def test_the_shape_checks_say_what_does_not_fit():
    table = "moto.dynamodb.models.table:Table.__init__"
    assert moto_shape.accepts("moto.no_such_module:X") == "moto.no_such_module is missing"
    assert moto_shape.present(f"{BACKEND}.no_such") == f"{BACKEND}.no_such is missing"
    assert moto_shape.accepts(f"{BACKEND}.get_item", None, "t", {}) is None
    assert moto_shape.accepts(f"{BACKEND}.get_item", None) == (
        f"{BACKEND}.get_item takes other arguments"
    )
    assert moto_shape.takes_exactly(f"{BACKEND}.transact_write_items", "self", "items") == (
        f"{BACKEND}.transact_write_items takes other arguments"
    )
    assert moto_shape.sets(table, "hash_key_attr", "stream_shard") is None
    assert moto_shape.sets(table, "stream_shard", "no_such") == f"{table} does not set no_such"


def test_the_server_says_the_notice_on_its_ready_line(monkeypatch):
    # GIVEN a moto whose put_item the fast path cannot call
    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item_of_another_moto)
    out = io.StringIO()
    read_end, write_end = os.pipe()
    with os.fdopen(read_end) as until:
        # WHEN the server starts
        server = threading.Thread(target=moto_server.serve, args=("127.0.0.1", 0, out, until))
        server.start()
        deadline = time.monotonic() + 30
        while "\n" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.close(write_end)
        server.join(30)
    # THEN its ready line carries the notice beside its URL
    ready = json.loads(out.getvalue().splitlines()[0])
    assert ready["url"].startswith("http://127.0.0.1:")
    assert ready["notice"] == f"moto {moto_shape.version()}: {FAST_PATH_LEFT_OUT}"


SITECUSTOMIZE = """
import sys
if any("moto_server" in arg for arg in sys.orig_argv):
    from moto.dynamodb.models import DynamoDBBackend

    def put_item(self, table_name, item, *, names=None, values=None):
        raise AssertionError("never called")

    DynamoDBBackend.put_item = put_item
"""


@pytest.fixture
def another_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Child Pythons get a moto whose put_item takes other keywords (a ``sitecustomize`` on
    PYTHONPATH changes it in the moto server's process only)."""
    folder = tmp_path / "another-moto"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    paths = [str(folder), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path for path in paths if path))
    return folder


def test_the_embedded_server_s_notice_is_the_engine_s_start_up_finding(
    another_moto: Path, tmp_path: Path
):
    # GIVEN an embedded moto server on a moto the fast path does not fit
    endpoint = DynamoEndpoint.embedded(log_path=tmp_path / "moto.log")
    endpoint.stop()
    # THEN the engine carries the notice, once, for the start-up findings
    line = f"moto {moto_shape.version()}: {FAST_PATH_LEFT_OUT}"
    assert endpoint.notices == [line]
    # AND the server's log names the internal that did not fit
    assert f"{BACKEND}.put_item takes other arguments" in (tmp_path / "moto.log").read_text()


@pytest.mark.integration
def test_the_command_line_says_the_notice_in_one_line(another_moto: Path, tmp_path: Path):
    # GIVEN an app, and a moto the fast path does not fit
    outside = ("KAFKA_BOOTSTRAP_SERVERS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env["EVENTFLOW_STATE_DIR"] = str(tmp_path / "state")
    # WHEN a function is invoked from the app's folder
    done = subprocess.run(
        [sys.executable, "-m", "eventflow_local", "invoke", "EchoFunction", "-e", "-"],
        cwd=APP,
        env=env,
        input="{}",
        capture_output=True,
        text=True,
        timeout=120,
    )
    # THEN it runs, and its output says the notice once, as the start-up findings are said
    assert done.returncode == 0, done.stderr
    line = f"not emulated: moto {moto_shape.version()}: {FAST_PATH_LEFT_OUT}"
    assert done.stderr.splitlines().count(line) == 1
    assert "Traceback" not in done.stderr


@pytest.fixture(autouse=True)
def _restore():
    yield
    restore()
