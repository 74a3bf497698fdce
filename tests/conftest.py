from __future__ import annotations

import os
from pathlib import Path

import pytest

from eventflow_local.testing import PLUGIN, autoloaded
from tests.durations import load as load_durations
from tests.durations import longest_first

# No real AWS from tests, ever.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EventFlowTests")
os.environ.setdefault("POWERTOOLS_DEV", "false")
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
# DynamoDB Local as `make test` installs it (the harness's own default is the user's cache)
os.environ.setdefault(
    "DYNAMODB_LOCAL_HOME",
    str(Path(__file__).resolve().parent.parent / ".tools" / "dynamodb-local"),
)
for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "DYNAMODB"):
    os.environ.pop(var, None)
# the commands' default engine is DynamoDB Local where it can run; the suite's commands run on
# moto unless a test chooses (each DynamoDB test runs on both engines through `dynamodb_engine`,
# and tests/unit/test_dynamodb_local.py covers the default itself)
os.environ["DYNAMODB_DEFAULT"] = "moto"
# this project's plugin (dev/eventflow_dev: demo, seed, redrive, the console's project views),
# also where the venv was installed before its entry point existed; loaded once either way
# (eventflow_local/plugins.py). Beside any plugins the user names.
OUR_PLUGIN = "eventflow_dev:plugin"
_plugins = [p.strip() for p in os.environ.get("EVENTFLOW_LOCAL_PLUGINS", "").split(",")]
os.environ["EVENTFLOW_LOCAL_PLUGINS"] = ",".join([*filter(None, _plugins), OUR_PLUGIN])


# the harness's pytest plugin (eventflow_stack ...), unless its entry point loaded it already (an
# install of eventflow-local that has it): a second registration would be an error; pytester
# runs the plugin as a user's project does (tests/integration/test_pytest_plugin.py)
pytest_plugins = ["pytester", *([] if autoloaded() else [PLUGIN])]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (tests/durations.py), after pytest's own fixture order within each."""
    items[:] = longest_first(items, load_durations())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ------------------------------------------------------------------ DynamoDB engines
#: every test that asks for ``dynamodb_engine`` runs on both: moto (the default embedded engine)
#: and AWS's DynamoDB Local. A difference between them is fixed in the code or documented as an
#: emulator gap, never skipped here.
DYNAMODB_ENGINES = ("moto", "local")


@pytest.fixture(scope="module", params=DYNAMODB_ENGINES)
def dynamodb_engine(request: pytest.FixtureRequest) -> str:
    """``"moto"`` or ``"local"``: the test module runs once on each."""
    return str(request.param)


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory: pytest.TempPathFactory):
    """One DynamoDB Local per test worker, in memory (started on first use; a JVM takes
    seconds to start, a table milliseconds to create)."""
    from eventflow_local.services.dynamodb_local import DynamoDBLocalServer

    log_path = tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log"
    server = DynamoDBLocalServer(None, log_path=log_path, log=lambda line: None)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dynamodb_server(dynamodb_engine: str, request: pytest.FixtureRequest):
    """The worker's DynamoDB Local when the module runs on ``local``, else None (moto's
    ``mock_aws``, in the test's process)."""
    if dynamodb_engine == "local":
        return request.getfixturevalue("dynamodb_local")
    return None
