"""The pytest plugin shipped with the harness (entry point ``pytest11``, ``eventflow_local``):
a SAM template's stack for a test session, and what keeps one test from seeing another's data.

- ``eventflow_stack`` (session): the stack of the configured template, started on free ports
  the first time a test asks for it (embedded broker, moto's server or DynamoDB Local, the
  Invoke API, the API server): ``.api_url``, ``.endpoint_url``, ``.bootstrap_servers``,
  ``.client(service)``, ``.lambda_client``, ``.invoke(function, event)``, ``.stack``
  (``eventflow_local.testing.EventflowStack``).
- ``eventflow_stack_factory`` (session): ``factory(template, parameters=None, fresh=False,
  **options)`` for another template, or other parameters, in a module's own fixture; each is
  started once a session (``fresh=True``: a new one, the caller's to ``.stop()``).
- ``eventflow_tables`` (per test): every table of ``eventflow_stack`` emptied before the test;
  ``.items(table)`` reads one back.
- ``eventflow_topic_reader`` (per test): ``reader(topic, count=None)`` reads the records
  produced since the test started.

The template: ``--eventflow-template PATH`` (from the folder pytest runs in), else the ini value
``eventflow_template`` (from the ini file's folder), else ``template.yaml`` in the rootdir;
``eventflow_parameters`` (ini, one ``Key=Value`` a line) and ``eventflow_dynamodb`` (``moto``,
the default, or ``local``). Nothing starts, and nothing heavy is imported, until a test asks
for one of these fixtures: a project that never does pays nothing for the plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from eventflow_local.testing import EventflowStack, StackPool


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eventflow_local", "eventflow-local: a SAM template's stack for tests")
    group.addoption(
        "--eventflow-template",
        default=None,
        metavar="PATH",
        help="SAM template of the eventflow_stack fixture (default: ini eventflow_template, "
        "else template.yaml in the rootdir)",
    )
    parser.addini("eventflow_template", "SAM template of the eventflow_stack fixture", default="")
    parser.addini(
        "eventflow_parameters",
        "template parameters of eventflow_stack, one Key=Value a line",
        type="linelist",
        default=[],
    )
    parser.addini("eventflow_dynamodb", "embedded DynamoDB: moto (default) or local", default="")


def configured_template(config: pytest.Config) -> Path:
    """The template of ``eventflow_stack`` (see the module's docstring)."""
    option = config.getoption("eventflow_template", None)
    if option:
        return (Path(config.invocation_params.dir) / option).resolve()
    ini = str(config.getini("eventflow_template") or "")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return (base / ini).resolve()
    return config.rootpath / "template.yaml"


def configured_parameters(config: pytest.Config) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in config.getini("eventflow_parameters"):
        key, sep, value = str(line).partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"eventflow_parameters: {line!r} is not Key=Value")
        out[key.strip()] = value.strip()
    return out


@pytest.fixture(scope="session")
def _eventflow_pool(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[StackPool]:
    from eventflow_local.testing import StackPool

    engine = str(pytestconfig.getini("eventflow_dynamodb") or "").strip()
    if engine not in ("", "moto", "local"):
        raise pytest.UsageError(f"eventflow_dynamodb: {engine!r} is not moto or local")
    pool = StackPool(
        tmp_path_factory.mktemp("eventflow-stacks"), **({"dynamodb": engine} if engine else {})
    )
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def eventflow_stack_factory(_eventflow_pool: StackPool) -> Callable[..., EventflowStack]:
    """``factory(template, parameters=None, *, fresh=False, **options)`` -> a started stack."""

    def start(template: Path | str, parameters: Any = None, **options: Any) -> EventflowStack:
        from eventflow_local.template.sam import TemplateError

        try:
            return _eventflow_pool.get(template, parameters, **options)
        except (FileNotFoundError, TemplateError) as exc:
            pytest.fail(f"eventflow: {exc}".splitlines()[0], pytrace=False)

    return start


@pytest.fixture(scope="session")
def eventflow_stack(
    eventflow_stack_factory: Callable[..., EventflowStack], pytestconfig: pytest.Config
) -> EventflowStack:
    """The configured template's stack, started once for the session."""
    template = configured_template(pytestconfig)
    if not template.is_file():
        pytest.fail(
            f"eventflow: no template {template}: give --eventflow-template PATH or set "
            "eventflow_template in the ini file",
            pytrace=False,
        )
    return eventflow_stack_factory(template, configured_parameters(pytestconfig))


@pytest.fixture
def eventflow_tables(eventflow_stack: EventflowStack) -> EventflowStack:
    """``eventflow_stack`` with every table of its template emptied before the test."""
    eventflow_stack.reset_tables()
    return eventflow_stack


@pytest.fixture
def eventflow_topic_reader(eventflow_stack: EventflowStack) -> Any:
    """``reader(topic, count=None, timeout=5.0)``: records produced since the test started
    (``reader.values(...)``: their values, JSON-decoded)."""
    return eventflow_stack.topic_reader()
