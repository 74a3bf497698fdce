"""The embedded moto server, in a process of its own: ``python -m eventflow_local.services.moto_server``.

The harness's DynamoDB (and the other services its functions call, such as Secrets Manager)
is moto's server with ``eventflow_local/services/moto_patches.py`` applied. Both the patches and moto's data are
module state of the process that imports moto, so the server runs in its own child process:

- a test that uses ``moto.mock_aws`` in the same process as a running harness gets moto exactly as
  released (no patch), and ``mock_aws`` resetting its backends cannot wipe the harness's tables;
- two harnesses in one process each have their own tables;
- stopping the server forgets its data, as a stopped emulator does.

The child prints ``{"url": ...}`` on its first line once it listens (with ``"notice"``: the one
line of ``moto_patches.apply()`` when some patch does not fit the installed moto), and exits when
its standard input closes (the harness stopped it, or the harness died without stopping it: no orphan).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

READY_TIMEOUT = 60.0


class MotoServerError(RuntimeError):
    """The moto server did not start (its last output is in the message)."""


def serial_app() -> Any:
    """moto's WSGI application with the patches applied, serving one request at a time.

    moto is not safe for concurrent requests: ``TransactWriteItems`` reads tables that another
    request may be changing ("dictionary changed size during iteration"). Functions run in
    parallel processes here, so requests are serialised in front of moto (``SerialApp``, which
    keeps SQS long polls from holding the lock: ``services/long_poll.py``).
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from eventflow_local.services import moto_patches
    from eventflow_local.services.long_poll import SerialApp

    moto_patches.apply()  # transactions cost the items they touch, not whole tables
    return SerialApp(DomainDispatcherApplication(create_backend_app))


def serve(host: str, port: int, out: IO[str], until: IO[str]) -> None:
    """Serve on ``host:port`` (0: a free port), say where on ``out``, stop when ``until`` ends."""
    from moto.moto_server import werkzeug_app
    from werkzeug.serving import make_server

    from eventflow_local.services import moto_patches

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # newer moto has a handler that keeps S3 headers with underscores; werkzeug's serves the rest
    handler = getattr(werkzeug_app, "MotoRequestHandler", None)
    server = make_server(host, port, serial_app(), True, request_handler=handler)
    bound_host, bound_port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    ready = {"url": f"http://{bound_host!s}:{bound_port}", "notice": moto_patches.apply()}
    out.write(json.dumps({k: v for k, v in ready.items() if v}) + "\n")
    out.flush()
    until.read()  # returns at EOF: the parent closed the pipe or is gone
    server.shutdown()
    server.server_close()


class MotoServerProcess:
    """A started ``python -m eventflow_local.services.moto_server``: ``url``, ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None):
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"{__package__}.moto_server",
                "--host",
                host,
                "--port",
                str(port),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
            start_new_session=True,  # Ctrl-C stops the harness, which then stops this server
        )
        #: what of moto_patches does not fit the installed moto, in one line (None: all fits)
        self.notice: str | None = None
        self.url = self._wait_ready()

    def _wait_ready(self) -> str:
        assert self.process.stdout is not None
        result: dict[str, str] = {}

        def read() -> None:
            assert self.process.stdout is not None
            line = self.process.stdout.readline()
            try:
                result.update(json.loads(line))
            except ValueError:
                result["error"] = line.strip()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(READY_TIMEOUT)
        url = result.get("url")
        if not url:
            self.stop()
            raise MotoServerError(
                f"the embedded moto server did not start (exit code {self.process.returncode}; "
                f"{result.get('error') or 'no answer'})"
            )
        self.notice = result.get("notice")
        return url

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self._log is not subprocess.DEVNULL:
            self._log.close()  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventflow_local.services.moto_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    serve(args.host, args.port, sys.stdout, sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
