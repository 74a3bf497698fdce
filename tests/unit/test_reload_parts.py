"""The parts of reload on save that start nothing: which files changed, what a saved template
changes, and the ``--no-reload`` flag (``eventflow_local/runtime/watch.py``, ``replan.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventflow_local.cli.main import build_parser
from eventflow_local.runtime.replan import compare, events_key
from eventflow_local.runtime.watch import changes, scan
from eventflow_local.template.sam import SamTemplate

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Environment:
        Variables:
          GREETING: hello
      Events:
        Hello:
          Type: Api
          Properties: { Path: /hello, Method: GET }
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other/
"""


def test_a_scan_sees_saves_and_skips_caches_hidden_folders_and_swap_files(tmp_path: Path) -> None:
    # GIVEN a code folder with a module, a cache, a hidden build folder and an editor's swap file
    (tmp_path / "pkg").mkdir()
    (tmp_path / "app.py").write_text("A = 1\n")
    (tmp_path / "pkg" / "util.py").write_text("B = 1\n")
    for skipped in ("__pycache__/app.cpython-313.pyc", ".aws-sam-local/x/y.py", ".app.py.swp"):
        (tmp_path / skipped).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / skipped).write_text("")
    before = scan([tmp_path])
    assert set(before) == {tmp_path / "app.py", tmp_path / "pkg" / "util.py"}

    # WHEN a module is saved with the same size, another added and the swap file touched
    stat = (tmp_path / "app.py").stat()
    (tmp_path / "app.py").write_text("A = 2\n")
    os.utime(tmp_path / "app.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    (tmp_path / "pkg" / "new.py").write_text("")
    (tmp_path / ".app.py.swp").write_text("more")

    # THEN exactly the saved and the added module are changes
    assert changes(before, scan([tmp_path])) == {tmp_path / "app.py", tmp_path / "pkg" / "new.py"}


def _templates(tmp_path: Path, edited: str) -> tuple[SamTemplate, SamTemplate]:
    for folder in ("hello", "other", "moved"):
        (tmp_path / folder).mkdir(exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    started = SamTemplate(path)
    path.write_text(edited)
    return started, SamTemplate(path)


def _compare(started: SamTemplate, fresh: SamTemplate, *, can_add: bool = True):  # type: ignore[no-untyped-def]
    running = started.functions()
    events = {lid: events_key(started, spec) for lid, spec in running.items()}
    return compare(started, fresh, running, started_events=events, can_add=can_add)


def test_a_new_variable_value_is_applied_without_a_build(tmp_path: Path) -> None:
    started, fresh = _templates(tmp_path, TEMPLATE.replace("GREETING: hello", "GREETING: hi"))
    found = _compare(started, fresh)
    assert set(found.respecified) == {"HelloFunction"}
    assert found.respecified["HelloFunction"].environment["GREETING"] == "hi"
    assert (found.rebuild, found.added, found.restart) == (set(), {}, [])


def test_a_new_code_folder_is_built_again(tmp_path: Path) -> None:
    started, fresh = _templates(tmp_path, TEMPLATE.replace("CodeUri: other/", "CodeUri: moved/"))
    found = _compare(started, fresh)
    assert found.rebuild == {"OtherFunction"}
    assert found.restart == []


def test_routes_new_resources_and_removed_functions_are_applied_not_named_for_a_restart(
    tmp_path: Path,
) -> None:
    # GIVEN a template whose route changes, one function removed and a table added
    edited = TEMPLATE.replace("Path: /hello,", "Path: /hi,").replace(
        "  OtherFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: other/\n",
        "  Notes:\n    Type: AWS::Serverless::SimpleTable\n",
    )
    started, fresh = _templates(tmp_path, edited)

    # WHEN compared with the running one
    found = _compare(started, fresh)

    # THEN each is sorted to be applied in place, and nothing needs a restart
    assert (found.events, found.removed, found.created) == (
        {"HelloFunction"},
        {"OtherFunction"},
        ["Notes"],
    )
    assert (found.restart, found.respecified, found.structure) == ([], {}, True)


@pytest.mark.parametrize(
    ("can_add", "added", "restart"),
    [(True, {"ThirdFunction"}, []), (False, set(), ["function ThirdFunction added"])],
)
def test_a_new_function_starts_in_place_only_where_the_stack_may_add_one(
    tmp_path: Path, can_add: bool, added: set[str], restart: list[str]
) -> None:
    third = "  ThirdFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: other/\n"
    started, fresh = _templates(tmp_path, TEMPLATE + third)
    found = _compare(started, fresh, can_add=can_add)
    assert (set(found.added), found.restart) == (added, restart)


def test_reload_is_on_for_up_and_start_api_unless_no_reload_is_given() -> None:
    parser = build_parser()
    assert parser.parse_args(["up"]).reload is True
    assert parser.parse_args(["start-api"]).reload is True
    assert parser.parse_args(["up", "--no-reload"]).reload is False
    assert parser.parse_args(["start-api", "--no-reload"]).reload is False


def test_a_reload_is_an_activity_entry_that_is_not_counted_as_an_invocation() -> None:
    from eventflow_local.console.activity import Activity

    # GIVEN the console's activity with a listener
    activity = Activity()
    listener = activity.subscribe()

    # WHEN a reload is recorded
    activity.record_reload(["HelloFunction"], "reload: hello/app.py saved: ...")

    # THEN it is the latest entry, with the reload line as its log, told to the listener, and
    # neither the invocation total nor the per-function counts include it
    latest = activity.latest(5)
    assert [(i["function"], i["trigger"], i["outcome"]) for i in latest] == [
        ("HelloFunction", "reload", "reloaded")
    ]
    assert activity.get(latest[0]["seq"])["logs"] == ["reload: hello/app.py saved: ..."]
    assert listener.get(1.0)[0] == "invocation"
    assert (activity.total, activity.counts()) == (0, {})
