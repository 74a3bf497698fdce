"""The pytest plugin as a user's project meets it: a SAM app of theirs (a copy of
``tests/apps/invoke_app`` with a topic), the README's ``conftest.py``, and a test file using
``eventflow_stack``, ``eventflow_tables``, ``eventflow_topic_reader`` and
``eventflow_stack_factory``, run by pytest in a process of its own (``pytester``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eventflow_local.state import STATE_DIR_NAME
from eventflow_local.testing import PLUGIN, autoloaded

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parent.parent / "apps" / "invoke_app"
#: the plugin as the user's pytest gets it: by its entry point once eventflow-local is
#: installed with it, else named on the command line
LOAD = [] if autoloaded() else ["-p", PLUGIN]

#: the README's example (Developing with the harness -> pytest plugin)
USER_CONFTEST = '''
import json
import urllib.request

import pytest


@pytest.fixture
def post(eventflow_stack):
    """post("/notes", {...}) -> (status, body) through the local API Gateway."""

    def send(path, body):
        request = urllib.request.Request(
            eventflow_stack.api_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())

    return send
'''

USER_TESTS = """
import json

from kafka import KafkaProducer


def test_a_function_is_invoked_with_the_ini_parameters(eventflow_stack):
    result = eventflow_stack.invoke("GreetFunction", {"name": "Ada"})
    assert result.ok and result.payload["message"] == "hi, Ada"


def test_the_lambda_client_invokes_by_name(eventflow_stack):
    client = eventflow_stack.lambda_client
    ok = client.invoke(FunctionName="invoke-app-greet", Payload=json.dumps({"name": "Bo"}))
    assert json.loads(ok["Payload"].read())["message"] == "hi, Bo"
    failed = client.invoke(FunctionName="GreetFunction", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"


def test_a_note_posted_to_the_api_is_in_the_table(eventflow_tables, post):
    assert post("/notes", {"id": "n1", "text": "first"}) == (201, {"stored": "n1"})
    assert eventflow_tables.items("NotesTable") == [{"id": "n1", "text": "first"}]
    table = eventflow_tables.tables["NotesTable"]
    dynamodb = eventflow_tables.client("dynamodb")
    assert dynamodb.get_item(TableName=table, Key={"id": {"S": "n1"}})["Item"]


def test_each_test_starts_with_empty_tables(eventflow_tables):
    assert eventflow_tables.items("NotesTable") == []


def _produce(stack, value):
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap_servers)
    producer.send("invoke-app-notes", json.dumps(value).encode())
    producer.flush()
    producer.close()


def test_a_topic_read_from_the_tests_start_first(eventflow_stack, eventflow_topic_reader):
    _produce(eventflow_stack, {"n": "first"})
    assert eventflow_topic_reader.values("invoke-app-notes", count=1) == [{"n": "first"}]


def test_a_topic_read_from_the_tests_start_second(eventflow_stack, eventflow_topic_reader):
    assert eventflow_topic_reader("invoke-app-notes") == []
    _produce(eventflow_stack, {"n": "second"})
    assert eventflow_topic_reader.values("invoke-app-notes", count=1) == [{"n": "second"}]


def test_another_stack_of_the_same_template(eventflow_stack_factory, eventflow_stack):
    other = eventflow_stack_factory("template.yaml", parameters={"Greeting": "howdy"})
    assert other is not eventflow_stack
    assert other is eventflow_stack_factory("template.yaml", parameters={"Greeting": "howdy"})
    assert other.invoke("GreetFunction", {"name": "Cy"}).payload["message"] == "howdy, Cy"
    assert other.endpoint_url != eventflow_stack.endpoint_url
"""


@pytest.fixture
def user_app(pytester: pytest.Pytester) -> Path:
    """The user's app in pytester's folder: the template (with a topic) and its code."""
    shutil.copytree(
        APP,
        pytester.path,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", STATE_DIR_NAME),
    )
    template = pytester.path / "template.yaml"
    text = template.read_text()
    topic = "Parameters:\n  NotesTopic:\n    Type: String\n    Default: invoke-app-notes\n"
    template.write_text(text.replace("Parameters:\n", topic, 1))
    return pytester.path


def test_a_users_suite_runs_on_the_plugins_fixtures(
    pytester: pytest.Pytester, user_app: Path
) -> None:
    # GIVEN a user's SAM app, the README's conftest.py and an ini naming a parameter
    pytester.makeconftest(USER_CONFTEST)
    pytester.makeini("[pytest]\neventflow_parameters =\n    Greeting=hi\n")
    pytester.makepyfile(test_app=USER_TESTS)
    # WHEN their suite runs
    result = pytester.runpytest_subprocess(*LOAD, "-p", "no:cacheprovider", timeout=300)
    # THEN every test passes: invoked functions, the API, tables emptied between tests, topics
    # read from each test's start, a second stack of other parameters
    result.assert_outcomes(passed=7)


def test_nothing_starts_or_loads_for_a_test_that_asks_for_no_stack(
    pytester: pytest.Pytester,
) -> None:
    # GIVEN a project with no template, whose test asks for none of the plugin's fixtures
    pytester.makepyfile(
        """
        import sys

        def test_plain():
            heavy = ("eventflow_local.stack", "boto3", "kafka", "eventflow_local.testing")
            assert [name for name in heavy if name in sys.modules] == []
        """
    )
    # WHEN it runs with the plugin loaded
    result = pytester.runpytest_subprocess(*LOAD, "-p", "no:cacheprovider")
    # THEN it passes, nothing of the harness imported beyond the plugin's module
    result.assert_outcomes(passed=1)


def test_a_missing_template_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses_it(eventflow_stack):\n    pass\n")
    result = pytester.runpytest_subprocess(*LOAD, "--eventflow-template", "nowhere/template.yaml")
    result.assert_outcomes(errors=1)
    missing = pytester.path / "nowhere" / "template.yaml"
    result.stdout.fnmatch_lines([f"*eventflow: no template {missing}: give --eventflow-template*"])
    assert "Traceback" not in result.stdout.str()


def _entry_point(pytester: pytest.Pytester) -> None:
    """An installed distribution whose ``pytest11`` entry point is the plugin, as eventflow-local
    installed with its pyproject is."""
    dist = pytester.path / "eventflow_local_fake-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: eventflow-local-fake\nVersion: 0\n"
    )
    (dist / "entry_points.txt").write_text(f"[pytest11]\neventflow_local = {PLUGIN}\n")


@pytest.mark.parametrize("installed", [False, True])
def test_the_repositorys_conftest_loads_the_plugin_once(
    pytester: pytest.Pytester, installed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the conftest of this repository (the plugin named unless its entry point loads it),
    # with and without an installed entry point
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    if installed:
        _entry_point(pytester)
    pytester.makeconftest(
        "from eventflow_local.testing import PLUGIN, autoloaded\n"
        "pytest_plugins = [] if autoloaded() else [PLUGIN]\n"
    )
    pytester.makepyfile(
        "def test_it(eventflow_stack_factory):\n    assert eventflow_stack_factory\n"
    )
    # WHEN pytest runs
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # THEN the plugin is registered once: its fixture is there, no "already registered" error
    result.assert_outcomes(passed=1)


def test_naming_an_autoloaded_plugin_again_is_the_error_the_guard_avoids(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    _entry_point(pytester)
    pytester.makeconftest(f"pytest_plugins = [{PLUGIN!r}]\n")
    pytester.makepyfile("def test_it():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    assert "already registered" in result.stderr.str() + result.stdout.str()
