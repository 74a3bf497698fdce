"""Step-through debugging of one function: ``-d/--debug-port PORT``, as SAM CLI's.

SAM CLI starts a function in debug mode when it is given a debug port and lets a debugger
attach to it before the function runs ("Locally debug functions with AWS SAM",
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-using-debugging.html;
``sam local invoke --debug-port``, ``sam local start-api --debug-port --debug-function``,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-start-api.html).
The harness does the same for Python with debugpy, the Debug Adapter Protocol server VS Code's
Python debugger attaches to:

- The debugged function gets one execution environment (concurrency 1), so that every
  invocation reaches the one process the debugger is attached to. Its worker imports debugpy
  from a folder that holds only debugpy (appended to its path after the standard library, so
  the function cannot import anything else of the harness's), listens on 127.0.0.1:PORT before
  the handler is imported, and waits for a debugger to attach before each invocation runs the
  handler (``debugpy.wait_for_client``: at once while one is attached). Breakpoints hit in the
  handler's code and in its layers' code: both are files on this machine, at the same paths the
  debugger shows, so VS Code's ``pathMappings`` map a folder to itself.
- debugpy runs inside the function's own Python (any of 3.9 to 3.13: its server part is pure
  Python); its adapter process runs with the harness's Python (``debugpy.configure(python=)``),
  as debugpy's adapter needs a recent one.
- A worker held for a debugger reads no request, so it watches its harness and ends when the
  harness is killed outright; debugpy's adapter ends with it.
- The function's ``Timeout`` is not enforced while it is debugged, as SAM CLI does not
  enforce it ("If debugging though, we don't enforce a timeout": aws-sam-cli
  ``LambdaRuntime._configure_interrupt``). ``context.get_remaining_time_in_millis()`` still
  counts down from the function's Timeout.
- Which function: ``invoke`` debugs the function it invokes; ``up`` and ``start-api`` debug the
  one ``--debug-function`` names (logical id or FunctionName), or the only function they start.
  With several and no ``--debug-function``, SAM CLI's warm containers print a warning and debug
  none (aws-sam-cli ``InvokeContext.__enter__``); the harness refuses in one line instead, since
  a user who asked for a debugger would otherwise wait for a stop that never comes.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventflow_local.errors import UsageError
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.runtime.worker_process import WorkerProcess
from eventflow_local.template.specs import FunctionSpec

DEBUG_HOST = "127.0.0.1"
DEBUGPY_REQUIREMENT = "debugpy>=1.8,<2"


@dataclass(frozen=True)
class DebugOptions:
    """The function to debug (logical id) and where its debugger listens."""

    function: str
    port: int
    host: str = DEBUG_HOST

    def waiting_line(self) -> str:
        return f"Debugger waiting on {self.host}:{self.port} for {self.function}"


# ---------------------------------------------------------------------- the command line's rules
def choose_debug_function(
    requested: str | None,
    started: Mapping[str, str],
    functions: Mapping[str, str],
    path: Path,
) -> str:
    """The logical id to debug: the one ``requested`` names (logical id or FunctionName, among
    ``functions``, the template's ``{logical id: FunctionName}``), else the only one of
    ``started`` (the functions the command runs); a ``UsageError`` when that is not one."""
    if requested is not None:
        chosen = requested if requested in functions else None
        chosen = chosen or next((lid for lid, n in functions.items() if n == requested), None)
        if chosen is None:
            listing = ", ".join(sorted(functions)) or "none"
            raise UsageError(
                f"--debug-function {requested}: no such function in {path} ({listing})"
            )
        if chosen not in started:
            listing = ", ".join(sorted(started)) or "none"
            raise UsageError(
                f"--debug-function {requested}: this command does not run it (it runs {listing})"
            )
        return chosen
    if len(started) == 1:
        return next(iter(started))
    raise UsageError(
        f"-d/--debug-port: {path} runs {len(started)} functions "
        f"({', '.join(sorted(started))}): name the one to debug with --debug-function NAME"
    )


def check_debug_port(port: int, host: str = DEBUG_HOST) -> None:
    """A port someone listens on is one line now, not an init error after everything started."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"-d/--debug-port {port}: the port is in use; pick another"
                ) from None
            raise UsageError(
                f"-d/--debug-port {port}: cannot listen on {host}:{port}: {exc}"
            ) from None


def debug_options(
    port: int | None,
    requested: str | None,
    started: Mapping[str, str],
    functions: Mapping[str, str],
    path: Path,
) -> DebugOptions | None:
    """What ``-d/--debug-port`` and ``--debug-function`` ask for, checked (None: no debugging)."""
    if port is None:
        if requested is not None:
            raise UsageError("--debug-function goes with -d/--debug-port PORT")
        return None
    debugpy_folder()  # debugpy is installed, else one line
    check_debug_port(port)
    return DebugOptions(choose_debug_function(requested, started, functions, path), port)


# ---------------------------------------------------------------------- debugpy for any Python
def debugpy_folder() -> Path:
    """A folder holding only ``debugpy`` (a link to the harness's own), for the function's
    import path: the harness's site-packages itself would hide a dependency the function lacks."""
    spec = importlib.util.find_spec("debugpy")
    if spec is None or spec.origin is None:
        raise UsageError(
            f"-d/--debug-port needs debugpy in the harness's environment: "
            f"pip install '{DEBUGPY_REQUIREMENT}'"
        )
    package = Path(spec.origin).resolve().parent
    folder = Path(tempfile.gettempdir()) / f"eventflow-local-debugpy-{os.getuid()}"
    link = folder / "debugpy"
    if link.is_symlink() and link.resolve() == package:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".debugpy-{os.getpid()}"
    staged.unlink(missing_ok=True)
    staged.symlink_to(package, target_is_directory=True)
    os.replace(staged, link)  # another harness may do the same at once: the last one wins
    return folder


# ---------------------------------------------------------------------- the debugged function
class DebuggedWorker(WorkerProcess):
    """A worker whose init tells it to listen for a debugger; an invocation waits as long as
    the debugger keeps it (no Timeout)."""

    def __init__(self, *args: Any, debug: DebugOptions, **kwargs: Any) -> None:
        self.debug = debug
        super().__init__(*args, **kwargs)

    def init_message(self, spec: FunctionSpec, import_paths: list[Path]) -> dict[str, Any]:
        message = super().init_message(spec, import_paths)
        message["debug"] = {
            "host": self.debug.host,
            "port": self.debug.port,
            "path": str(debugpy_folder()),
            "adapterPython": sys.executable,
        }
        return message

    def call(
        self, request: dict[str, Any], timeout: float | None, *, capture: bool = True
    ) -> dict[str, Any] | None:
        # an invocation waits as long as the debugger holds it; a description does not wait
        return super().call(request, None if "event" in request else timeout, capture=capture)


class DebuggedRuntime(FunctionRuntime):
    """The debugged function's pool: one worker, listening for the debugger."""

    def __init__(self, spec: FunctionSpec, *args: Any, debug: DebugOptions, **kwargs: Any) -> None:
        kwargs["max_concurrency"] = 1
        super().__init__(spec, *args, **kwargs)
        self.debug = debug
        self._announced = False

    def _spawn(self) -> WorkerProcess:
        worker = DebuggedWorker(
            self.spec, self.env, self.import_paths, self.log, self.python, debug=self.debug
        )
        self._workers.add(worker)
        return worker

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any] | None:
        error = super().wait_ready(timeout)
        if error is None and not self._announced:  # debugpy listens before the handler imports
            self._announced = True
            self.log(self.debug.waiting_line())
        return error


def runtime_factory(debug: DebugOptions | None) -> Callable[..., FunctionRuntime]:
    """What starts a function's pool: the debugged one's is a ``DebuggedRuntime``."""

    def make(spec: FunctionSpec, *args: Any, **kwargs: Any) -> FunctionRuntime:
        if debug is not None and spec.logical_id == debug.function:
            return DebuggedRuntime(spec, *args, debug=debug, **kwargs)
        return FunctionRuntime(spec, *args, **kwargs)

    return make
