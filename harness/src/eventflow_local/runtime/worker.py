"""The execution environment of one function: a long-lived process, like a warm Lambda sandbox.

Started by ``eventflow_local.runtime.functions.FunctionRuntime`` as ``python3.X -I -S eventflow_local/runtime/worker.py REQ_FD RESP_FD``
(the Python of the function's Runtime, isolated: no site-packages, no virtualenv) with the
function's environment. It receives one init message (code directory, handler, import paths),
imports the handler once (the cold start), then answers invocations one at a time:

    request   {"event": ..., "requestId": "...", "deadlineMs": epoch ms}
    response  {"ok": true, "payload": ...}
              {"ok": false, "error": {"errorType", "errorMessage", "stackTrace"}}

Besides invocations the harness may ask the function to describe itself, which Lambda never
does, so that nothing of the function's code runs in the harness's own process:

    request   {"describe": "openapi", "title": "...", "version": "..."}
    response  {"ok": true, "payload": OpenAPI document | null}
              {"ok": false, "error": {"errorType", "errorMessage", "stackTrace"}}

The handler's module is looked at for a module-level object with ``get_openapi_schema`` (``app``
first, by convention: a Powertools resolver); its document comes back as JSON, ``null`` when the
module has none. An invocation and a description both end with an END mark on stdout and
stderr, so that what either printed is out before the harness goes on.

Messages are JSON over two pipes that are not stdout/stderr, so whatever the handler prints goes
to the log, as on Lambda. This file imports nothing from the harness and runs on every Python the
Lambda runtimes name (3.9 and later): the function sees only its own code, the paths it is given
(its build, its layers, the runtime's boto3) and the standard library; with ``-d/--debug-port``
also debugpy (``start_debugger``, eventflow_local/runtime/debugging.py).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import types
from multiprocessing.connection import Connection
from typing import Any

END_MARK = "\x00END "


class Context:
    """The ``context`` Lambda passes to a Python handler."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        region = env.get("AWS_REGION", "us-east-1")
        account = env.get("EVENTFLOW_LOCAL_ACCOUNT", "")  # set by the harness (aws.LOCAL_ACCOUNT)
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{account}:function:{self.function_name}"
        )
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _user_frames(exc: BaseException) -> traceback.StackSummary:
    """The traceback without this file's own frame, as Lambda shows only the function's."""
    frames = traceback.extract_tb(exc.__traceback__)
    return traceback.StackSummary.from_list([f for f in frames if f.filename != __file__])


def error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_list(_user_frames(exc)),
    }


def load_handler(init: dict[str, Any]) -> tuple[types.ModuleType, Any]:
    code_dir = init["codeUri"]
    if init.get("inlineCode") is not None:
        # InlineCode / Code.ZipFile: Lambda's package is one file, index.py
        code_dir = tempfile.mkdtemp(prefix="inline-code-")
        with open(os.path.join(code_dir, "index.py"), "w", encoding="utf-8") as file:
            file.write(init["inlineCode"])
    sys.path[:0] = [code_dir, *init.get("paths", [])]  # before the standard library, as on Lambda
    os.chdir(code_dir)
    module_name, _, attr = init["handler"].rpartition(".")
    try:
        # a path-style handler (``src/app.handler``) names a module by its folder, as Lambda's
        # Python runtime reads it (awslambdaric bootstrap._get_handler: "/" becomes ".")
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:  # Lambda's words for it
        raise _InitError(
            exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except (
        SyntaxError
    ) as exc:  # Lambda's words: "Syntax error in module 'app': ... (app.py, line 3)"
        raise _InitError(
            exc,
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            [f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n'],
        ) from exc
    except Exception as exc:
        raise _InitError(exc, None) from exc
    handler = getattr(module, attr, None)
    if not callable(handler):
        raise _InitError(
            AttributeError(f"Handler '{attr}' missing on module '{module_name}'"),
            "Runtime.HandlerNotFound",
        )
    return module, handler


class _InitError(Exception):
    def __init__(
        self,
        exc: BaseException,
        error_type: str | None,
        message: str | None = None,
        trace: list[str] | None = None,
    ) -> None:
        super().__init__(message or str(exc))
        self.payload = error_payload(exc, error_type)
        if message:
            self.payload["errorMessage"] = message
        if trace is not None:
            self.payload["stackTrace"] = trace


def start_debugger(options: dict[str, Any]) -> Any:
    """``-d/--debug-port`` (eventflow_local/runtime/debugging.py): debugpy, from a folder that
    holds only it (after the standard library and the function's paths), listens now; the
    function returned waits for a debugger before an invocation runs the handler."""
    sys.path.append(options["path"])
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # no frozen-modules warning
    threading.Thread(
        target=_exit_with, args=(os.getppid(),), name="harness watch", daemon=True
    ).start()
    where = f"{options['host']}:{options['port']}"
    try:
        import debugpy

        debugpy.configure(python=options["adapterPython"])  # its adapter needs a recent Python
        debugpy.listen((options["host"], int(options["port"])))
    except Exception as exc:
        raise _InitError(
            exc, "Runtime.DebuggerError", f"the debugger cannot listen on {where}: {exc}"
        ) from exc
    return debugpy.wait_for_client


def _exit_with(harness: int) -> None:
    """A worker held for a debugger reads no request: it ends when its harness is gone."""
    while os.getppid() == harness:
        time.sleep(1.0)
    os._exit(1)


def find_resolver(module: types.ModuleType) -> Any:
    """The module's object that has ``get_openapi_schema``: ``app``, else the first defined."""
    for candidate in [getattr(module, "app", None), *vars(module).values()]:
        if candidate is None or isinstance(candidate, (type, types.ModuleType)):
            continue
        try:
            if callable(getattr(candidate, "get_openapi_schema", None)):
                return candidate
        except Exception:  # a proxy or lazy object that fails when looked at is not a resolver
            continue
    return None


def describe_openapi(module: types.ModuleType, request: dict[str, Any]) -> Any:
    """The module's OpenAPI document as JSON-ready data, or None when it has no resolver."""
    resolver = find_resolver(module)
    if resolver is None:
        return None
    options = {k: request[k] for k in ("title", "version") if request.get(k) is not None}
    document = resolver.get_openapi_schema(**options)
    if hasattr(document, "model_dump"):  # Powertools: a pydantic model of the document
        return document.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(document, dict):
        return document
    raise TypeError(
        f"get_openapi_schema() returned {type(document).__name__}, not an OpenAPI document"
    )


DESCRIBERS = {"openapi": describe_openapi}


def describe(module: types.ModuleType, request: dict[str, Any]) -> dict[str, Any]:
    describer = DESCRIBERS.get(str(request["describe"]))
    if describer is None:
        known = ", ".join(sorted(DESCRIBERS))
        error = ValueError(f"cannot describe {request['describe']!r} (known: {known})")
        return {"ok": False, "error": error_payload(error, "Runtime.UnknownRequest")}
    try:
        return {"ok": True, "payload": describer(module, request)}
    except Exception as exc:
        return {"ok": False, "error": error_payload(exc)}


def end_logs(request_id: str) -> None:
    """Mark the end of one request's output on both streams (the harness waits for it)."""
    for stream in (sys.stdout, sys.stderr):
        stream.write(f"{END_MARK}{request_id}\n")
        stream.flush()


def send(conn: Connection, message: dict[str, Any]) -> None:
    try:
        data = json.dumps(message)
    except (TypeError, ValueError) as exc:
        data = json.dumps({"ok": False, "error": error_payload(exc, "Runtime.MarshalError")})
    conn.send_bytes(data.encode())


def main(argv: list[str]) -> int:
    requests = Connection(int(argv[1]), readable=True, writable=False)
    responses = Connection(int(argv[2]), readable=False, writable=True)
    init = json.loads(requests.recv_bytes())
    # ``-I`` ignores PYTHONDONTWRITEBYTECODE: no .pyc is left in the function's folder, so a file
    # saved twice within one second (same size) is never read back from a stale .pyc on reload
    sys.dont_write_bytecode = True
    try:
        wait_for_debugger = start_debugger(init["debug"]) if init.get("debug") else None
        module, handler = load_handler(init)
    except _InitError as exc:
        traceback.print_exc()
        send(responses, {"ready": False, "error": exc.payload})
        return 1
    send(responses, {"ready": True})
    while True:
        try:
            request = json.loads(requests.recv_bytes())
        except EOFError:
            return 0
        if "describe" in request:  # not an invocation: no context, no deadline
            answer = describe(module, request)
            end_logs(str(request.get("requestId") or "describe"))
            send(responses, answer)
            continue
        context = Context(request["requestId"], int(request["deadlineMs"]))
        if wait_for_debugger is not None:
            wait_for_debugger()
        try:
            payload = handler(request["event"], context)
            reply: dict[str, Any] = {"ok": True, "payload": payload}
        except Exception as exc:
            trace = "".join(traceback.format_list(_user_frames(exc)))
            print(
                f"[ERROR] {type(exc).__name__}: {exc}\nTraceback (most recent call last):\n{trace}",
                end="",
                file=sys.stderr,
            )
            reply = {"ok": False, "error": error_payload(exc)}
        end_logs(request["requestId"])  # the invocation's logs end here
        send(responses, reply)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
