"""``-d/--debug-port`` and ``--debug-function``: which function is debugged, as SAM CLI chooses
it, and every mistake in one line before anything starts (``runtime/debugging.py``)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from eventflow_local.cli.main import build_parser, main
from eventflow_local.errors import UsageError
from eventflow_local.runtime.debugging import (
    DebugOptions,
    choose_debug_function,
    debug_options,
    debugpy_folder,
)
from tests.unit.template_files import ROOT

APP = ROOT / "tests" / "apps" / "debug_app" / "template.yaml"
FUNCTIONS = {"ShoutFunction": "shout-words", "CountFunction": "CountFunction"}
PATH = Path("template.yaml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_only_function_that_runs_is_debugged_without_being_named() -> None:
    # GIVEN a command that runs one function of two (invoke, start-api serving one route)
    started = {"CountFunction": "CountFunction"}
    # WHEN no --debug-function is given
    # THEN that function is the one debugged
    assert choose_debug_function(None, started, FUNCTIONS, PATH) == "CountFunction"


@pytest.mark.parametrize("name", ["ShoutFunction", "shout-words"])
def test_debug_function_takes_a_logical_id_or_a_function_name(name: str) -> None:
    assert choose_debug_function(name, FUNCTIONS, FUNCTIONS, PATH) == "ShoutFunction"


def test_several_functions_and_no_debug_function_is_one_line_naming_them() -> None:
    # GIVEN `up` runs both functions WHEN -d is given without --debug-function
    with pytest.raises(UsageError) as caught:
        choose_debug_function(None, FUNCTIONS, FUNCTIONS, PATH)
    # THEN the line names the functions and the flag that picks one
    message = str(caught.value)
    assert "CountFunction, ShoutFunction" in message and "--debug-function NAME" in message
    assert "\n" not in message


def test_an_unknown_debug_function_lists_the_templates_functions() -> None:
    with pytest.raises(UsageError, match=r"--debug-function Nope: no such function in "):
        choose_debug_function("Nope", FUNCTIONS, FUNCTIONS, PATH)


def test_a_debug_function_the_command_does_not_run_is_refused() -> None:
    # GIVEN start-api serves only CountFunction WHEN ShoutFunction is to be debugged
    # THEN it says which functions run instead
    with pytest.raises(UsageError, match=r"does not run it \(it runs CountFunction\)"):
        choose_debug_function("ShoutFunction", {"CountFunction": "C"}, FUNCTIONS, PATH)


def test_debug_function_without_a_debug_port_is_refused() -> None:
    with pytest.raises(UsageError, match=r"--debug-function goes with -d/--debug-port PORT"):
        debug_options(None, "ShoutFunction", FUNCTIONS, FUNCTIONS, PATH)
    # AND with neither there is nothing to debug
    assert debug_options(None, None, FUNCTIONS, FUNCTIONS, PATH) is None


def test_a_debug_port_someone_listens_on_is_refused_before_anything_starts() -> None:
    # GIVEN a port in use
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # WHEN it is the debug port THEN it is one line naming it
        with pytest.raises(UsageError, match=rf"-d/--debug-port {port}: the port is in use"):
            debug_options(port, None, {"CountFunction": "C"}, FUNCTIONS, PATH)


def test_the_options_say_where_the_debugger_waits() -> None:
    port = _free_port()
    options = debug_options(port, "shout-words", FUNCTIONS, FUNCTIONS, PATH)
    assert options == DebugOptions("ShoutFunction", port)
    assert options.waiting_line() == f"Debugger waiting on 127.0.0.1:{port} for ShoutFunction"


def test_the_functions_path_gets_debugpy_alone() -> None:
    # WHEN the folder the debugged worker imports debugpy from is made
    folder = debugpy_folder()
    # THEN it holds debugpy and nothing else of the harness's site-packages
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == ["debugpy"]
    assert (folder / "debugpy" / "__init__.py").is_file()
    # AND making it again keeps it
    assert debugpy_folder() == folder


def test_the_flags_are_sam_clis() -> None:
    parser = build_parser()
    # invoke: -d, no --debug-function (sam local invoke has none: it debugs what it invokes)
    args = parser.parse_args(["invoke", "Fn", "-d", "5890"])
    assert args.debug_port == 5890 and not hasattr(args, "debug_function")
    for command in ("up", "start-api"):
        args = parser.parse_args([command, "--debug-port", "5890", "--debug-function", "Fn"])
        assert (args.debug_port, args.debug_function) == (5890, "Fn")


@pytest.mark.parametrize("bad", ["0", "70000", "five"])
def test_a_debug_port_that_is_no_port_is_refused(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["invoke", "Fn", "-d", bad])
    assert exited.value.code == 2
    assert "-d/--debug-port" in capsys.readouterr().err


def test_up_with_two_functions_and_no_debug_function_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN `up -d PORT` runs the debug app (two functions) without --debug-function
    code = main(["up", "-t", str(APP), "-d", str(_free_port()), "--state-dir", str(tmp_path)])
    # THEN it exits 2 with one line, before anything starts
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: -d/--debug-port: ")
    assert "--debug-function NAME" in err[0]
    assert not any(tmp_path.iterdir())
