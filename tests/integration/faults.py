"""Fault injection for the reliability tests.

* ``TcpProxy``: a threaded TCP relay in front of the Kafka broker that can be cut (every live
  connection closed, new ones refused) and restored on the same port.
* ``TansuProcess``: the Tansu broker as a separate process, optionally advertising another
  address (a ``TcpProxy``) so that every client, after bootstrap too, goes through the proxy.
* ``MotoProcess``: the moto DynamoDB server (serialised as the harness serves it) in a separate
  process, so its data outlives a harness that is killed.
* ``HarnessProcess``: ``python -m eventflow_local up`` in a process of its own, killable with SIGKILL
  together with its function workers.
* HTTP helpers that send the local API's bearer token on writes, and readers for topics, tables
  and consumer-group offsets.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from eventflow_local.apigw.local_token import auth_headers
from eventflow_local.processes import stop_process
from eventflow_local.services.broker import EmbeddedBroker, free_port, wait_for_broker

ROOT = Path(__file__).resolve().parents[2]
FRAUD_TOPIC = "transaction-service-topic"
QUAKES_TOPIC = "earthquake-service-topic"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# --------------------------------------------------------------------------------- waiting
def wait_for(
    check: Callable[[], Any], timeout: float = 30.0, what: str = "condition", every: float = 0.2
) -> Any:
    """Call ``check`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


# --------------------------------------------------------------------------------- HTTP
def http(
    method: str, url: str, body: Any = None, timeout: float = 35.0, token: str | None = None
) -> tuple[int, Any]:
    """One JSON request; writes carry ``Authorization: Bearer <local token>``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if method.upper() in WRITE_METHODS:
        for name, value in auth_headers(token).items():
            request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, (json.loads(raw) if raw else None)


class Api:
    """The local API at ``base``: ``call(method, path, body, expect=status)``."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        status, payload = http(method, self.base + path, body)
        if expect is not None:
            assert status == expect, f"{method} {path} -> {status}: {payload}"
        return payload

    def account(self, name: str = "Fault") -> dict[str, Any]:
        body = {"name": name, "number": uuid.uuid4().hex[:12], "status": "active"}
        return dict(self.call("POST", "/accounts", body, expect=201))

    def transaction(self, account_id: str) -> dict[str, Any]:
        return dict(self.call("POST", "/transactions", {"accountId": account_id}, expect=201))

    def fraud_count(self, account_id: str) -> int:
        return int(self.call("GET", f"/accounts/{account_id}", expect=200)["fraudCount"])

    def dead_letters(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        while True:
            query = "?limit=100" + (f"&nextToken={token}" if token else "")
            page = self.call("GET", "/dead-letters" + query, expect=200)
            items.extend(page["items"])
            token = page.get("nextToken")
            if not token:
                return items


# --------------------------------------------------------------------------------- Kafka
def fraud_value(account_id: str, event_id: str | None = None, **extra: Any) -> bytes:
    """A fraud event as the relay publishes it."""
    event_id = event_id or uuid.uuid4().hex
    return json.dumps(
        {
            "id": uuid.uuid4().hex,
            "status": "FRAUD",
            "accountId": account_id,
            "eventId": event_id,
            "eventType": "TransactionMarkedFraud",
            **extra,
        },
        separators=(",", ":"),
    ).encode()


def producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "linger_ms": 5,
        "max_request_size": 4 * 1024 * 1024,
        "client_id": "eventflow-fault-tests",
        **overrides,
    }
    return KafkaProducer(**config)


def _consumer(bootstrap: str, **overrides: Any) -> KafkaConsumer:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "enable_auto_commit": False,
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        "fetch_max_bytes": 64 * 1024 * 1024,
        "fetch_max_wait_ms": 50,
        **overrides,
    }
    return KafkaConsumer(**config)


def _partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]


def end_offsets(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """The offset after the last record of every partition of ``topic``.

    Read from a fetch's high watermark: Tansu answers ListOffsets(latest) with the base offset
    of the last record batch + 1, which is short of the end when that batch holds several
    records.
    """
    consumer = _consumer(bootstrap, max_partition_fetch_bytes=1)
    try:
        parts = _partitions(consumer, topic)
        if not parts:
            return {}
        consumer.assign(parts)
        consumer.seek_to_end(*parts)
        deadline = time.monotonic() + timeout
        while any(consumer.highwater(tp) is None for tp in parts):
            assert time.monotonic() < deadline, f"no high watermark for {topic}"
            consumer.poll(timeout_ms=50, max_records=1)
        return {tp.partition: int(consumer.highwater(tp) or 0) for tp in parts}
    finally:
        consumer.close(autocommit=False)


def read_all(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Any]:
    """Every record of ``topic`` up to its end now (manual assignment, no group), in partition
    and offset order."""
    ends = end_offsets(bootstrap, topic)
    consumer = _consumer(bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p, end in ends.items() if end > 0]
        if not parts:
            return []
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp.partition] for tp in parts):
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        kept = [r for r in records if r.offset < ends[r.partition]]
        return sorted(kept, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close(autocommit=False)


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    """The consumer group's committed offset per partition of ``topic``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or [])
        return {p: consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        consumer.close(autocommit=False)


def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """True when ``group`` has committed every record of ``topic`` there is now."""
    committed = committed_offsets(bootstrap, group, topic)
    return all((committed.get(p) or 0) >= end for p, end in end_offsets(bootstrap, topic).items())


def event_ids(records: Iterable[Any]) -> list[str]:
    """The ``eventId`` of every record whose value is a JSON object carrying one."""
    out = []
    for record in records:
        try:
            value = json.loads(record.value)
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict) and "eventId" in value:
            out.append(value["eventId"])
    return out


# --------------------------------------------------------------------------------- DynamoDB
def scan_all(client: Any, table: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, **kwargs}
    while True:
        resp = client.scan(**request)
        items.extend(resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            return items
        request["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def count_items(client: Any, table: str) -> int:
    total, request = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        resp = client.scan(**request)
        total += int(resp["Count"])
        if "LastEvaluatedKey" not in resp:
            return total
        request["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# --------------------------------------------------------------------------------- TCP proxy
class TcpProxy:
    """A TCP relay ``127.0.0.1:port`` -> ``target`` that can be cut and restored.

    ``cut()`` closes the listening socket (new connections are refused) and every relayed
    connection (clients see their sockets reset or closed mid-request); ``restore()`` listens on
    the same port again. One thread accepts, one selector thread moves the bytes.
    """

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.accepted = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._closed = False
        self._pump = threading.Thread(target=self._relay, name=f"proxy-{self.port}", daemon=True)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def start(self) -> TcpProxy:
        self._pump.start()
        self._listen()
        return self

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self._listener = listener
        self._accepting = threading.Thread(
            target=self._accept, args=(listener,), name=f"proxy-accept-{self.port}", daemon=True
        )
        self._accepting.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: cut or stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    client.close()
                    upstream.close()
                    return
                self.accepted += 1
                self._pairs[client] = upstream
                self._pairs[upstream] = client
                self._selector.register(client, selectors.EVENT_READ)
                self._selector.register(upstream, selectors.EVENT_READ)
            self._wake_w.send(b"x")

    def _relay(self) -> None:
        while not self._closed:
            for key, _ in self._selector.select(timeout=0.5):
                sock = key.fileobj
                if sock is self._wake_r:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    continue
                assert isinstance(sock, socket.socket)
                with self._lock:
                    peer = self._pairs.get(sock)
                if peer is None:
                    continue
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._drop(sock)
                    continue
                try:
                    peer.setblocking(True)
                    peer.settimeout(10)
                    peer.sendall(data)
                    peer.setblocking(False)
                except OSError:
                    self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            peer = self._pairs.pop(sock, None)
            if peer is not None:
                self._pairs.pop(peer, None)
            for s in (sock, peer):
                if s is None:
                    continue
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self._selector.unregister(s)
                with contextlib.suppress(OSError):
                    s.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            self.cuts += 1
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._accepting is not None:
            self._accepting.join(5)
        with self._lock:
            socks = list(self._pairs)
        for sock in socks:
            self._drop(sock)

    def restore(self) -> None:
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self.cut()
        self._closed = True
        self._wake_w.send(b"x")
        self._pump.join(5)
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------- processes
def _wait_tcp(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


class TansuProcess:
    """Tansu (the embedded broker's binary) in a process of its own, in-memory storage.

    ``advertised``: the ``host:port`` the broker tells clients to connect to (a ``TcpProxy`` in
    front of it); default: its own listener.
    """

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def listener(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, advertised: str | None = None) -> TansuProcess:
        binary = EmbeddedBroker().binary()
        own = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                binary,
                "broker",
                "--cluster-id",
                "eventflow-faults",
                "--listener-url",
                own,
                "--advertised-listener-url",
                f"tcp://{advertised}" if advertised else own,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"},
            start_new_session=True,
        )
        _wait_tcp("127.0.0.1", self.port, 20, self.proc)
        return self

    def stop(self) -> None:
        stop_process(self.proc, 5.0)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


MOTO_SCRIPT = """
import sys
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server
from eventflow_local.services.moto_server import serial_app
server = make_server("127.0.0.1", int(sys.argv[1]), serial_app(), True, request_handler=MotoRequestHandler)
print("ready", flush=True)
server.serve_forever()
"""


class MotoProcess:
    """moto's DynamoDB server, one request at a time as the harness serves it, in its own process
    (``python -m moto.server`` would serve requests concurrently, which moto's
    ``TransactWriteItems`` does not survive)."""

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", MOTO_SCRIPT, str(self.port)],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_tcp("127.0.0.1", self.port, 30, self.proc)
        return self

    def stop(self) -> None:
        stop_process(self.proc, 5.0)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren, ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def process_env(pid: int) -> dict[str, str]:
    """The environment ``pid`` was started with ({} if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def function_workers(pid: int, function: str) -> list[int]:
    """The worker processes of ``function`` (logical id) under the harness process ``pid``."""
    return [
        child
        for child in descendants(pid)
        if process_env(child).get("AWS_LAMBDA_FUNCTION_NAME") == function
    ]


def sigkill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class HarnessProcess:
    """``python -m eventflow_local up`` as a separate process against an external broker and DynamoDB."""

    def __init__(
        self,
        state_dir: Path,
        bootstrap: str,
        dynamodb_url: str,
        log_path: Path,
        params: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.bootstrap = bootstrap
        self.dynamodb_url = dynamodb_url
        self.log_path = log_path
        self.params = params or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 90.0) -> HarnessProcess:
        (self.state_dir / "stack.json").unlink(missing_ok=True)
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "EVENTFLOW_STATE_DIR": str(self.state_dir),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("AWS_ENDPOINT_URL", None)
        args = [sys.executable, "-m", "eventflow_local", "up", "--port", "0"]
        for key, value in self.params.items():
            args += ["--param", f"{key}={value}"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        state = self.state_dir / "stack.json"

        def ready() -> dict[str, Any] | None:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"the harness exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                return dict(json.loads(state.read_text()))
            except (OSError, ValueError):
                return None

        self.info = wait_for(ready, timeout, "the harness to start", every=0.2)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def api(self) -> Api:
        return Api(self.info["apiUrl"])

    def table(self, logical_id: str) -> str:
        return str(self.info["tables"][logical_id])

    def workers(self, function: str) -> list[int]:
        return function_workers(self.pid, function)

    def kill(self) -> list[int]:
        """SIGKILL the harness and every process it started, at once; returns the pids."""
        assert self.proc is not None
        victims = [self.pid, *descendants(self.pid)]
        sigkill(victims)
        self.proc.wait(10)
        wait_for(
            lambda: not any(Path(f"/proc/{p}").exists() and _alive(p) for p in victims),
            10,
            "the killed processes to be gone",
            every=0.05,
        )
        self._close_log()
        return victims

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                sigkill([self.pid, *descendants(self.pid)])
                self.proc.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []


def _alive(pid: int) -> bool:
    """False for a zombie or a vanished process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextlib.contextmanager
def proxied_broker(tmp: Path) -> Iterator[tuple[TansuProcess, TcpProxy]]:
    """Tansu advertising a proxy in front of it: every Kafka client goes through the proxy."""
    tansu = TansuProcess(tmp / "tansu.log")
    proxy = TcpProxy(tansu.listener)
    proxy.start()
    tansu.start(advertised=proxy.address)
    try:
        wait_for_broker(proxy.address, timeout=30)
        yield tansu, proxy
    finally:
        proxy.stop()
        tansu.stop()


@contextlib.contextmanager
def backing_services(tmp: Path) -> Iterator[tuple[TansuProcess, MotoProcess]]:
    """A broker and a DynamoDB in processes of their own, outliving any harness started on them."""
    tansu = TansuProcess(tmp / "tansu.log").start()
    try:
        moto = MotoProcess(tmp / "moto.log").start()
        try:
            wait_for_broker(tansu.bootstrap, timeout=30)
            yield tansu, moto
        finally:
            moto.stop()
    finally:
        tansu.stop()


def ems_metric(lines: Iterable[str], name: str) -> int:
    """The sum of an embedded-metric-format value over a function's log lines."""
    pattern = re.compile(rf'"{re.escape(name)}":\[([0-9.]+)\]')
    return int(sum(float(m.group(1)) for line in lines for m in pattern.finditer(line)))


def invoked_records(lines: Iterable[str], function: str) -> int:
    """Records handed to ``function`` by its Kafka event source, from the runtime's log lines."""
    pattern = re.compile(rf"^invoke {re.escape(function)} trigger=kafka:\S+ batch=(\d+)")
    return sum(int(m.group(1)) for line in lines if (m := pattern.match(line)))


def put_accounts(client: Any, table: str, count: int) -> list[str]:
    """``count`` active accounts written straight to the accounts table, shaped as the accounts
    API stores them; returns their ids."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    ids = [uuid.uuid4().hex for _ in range(count)]
    items = [
        {
            "id": {"S": account_id},
            "listKey": {"S": "ACCOUNT"},
            "name": {"S": "Load"},
            "number": {"S": account_id[:12]},
            "type": {"S": "root"},
            "status": {"S": "active"},
            "fraudCount": {"N": "0"},
            "createdAt": {"S": now},
            "updatedAt": {"S": now},
        }
        for account_id in ids
    ]
    for start in range(0, len(items), 25):
        pending: Any = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
    return ids


def account_states(client: Any, table: str) -> dict[str, tuple[int, str]]:
    """account id -> (fraudCount, status), read with a scan."""
    return {
        item["id"]["S"]: (int(item.get("fraudCount", {}).get("N", 0)), item["status"]["S"])
        for item in scan_all(client, table)
    }


def counted_total(client: Any, table: str) -> int:
    """The sum of every account's fraudCount: the fraud events counted so far."""
    return sum(count for count, _ in account_states(client, table).values())


def relay_copies(
    distinct: list[tuple[str, str]], n: int, window: int | None = None
) -> list[tuple[str, str]]:
    """The last ``n`` (eventId, accountId) events published again, in order, as the outbox relay
    does when it crashed after publishing a stream batch and the stream hands it the batch again.
    Published after ``distinct``, each copy follows its original by fewer than ``window`` events
    of the same account: the bounded republish window the consumer's exactly-once rests on
    (``eventflow.consumer``). Asserted here, so a test cannot step outside it unnoticed."""
    from eventflow.fraud.domain.rules import RECENT_EVENTS

    copies = list(distinct[-n:])
    log = distinct + copies
    first: dict[str, int] = {}
    for i, (event_id, account_id) in enumerate(log):
        if event_id in first:
            between = sum(1 for _, a in log[first[event_id] + 1 : i] if a == account_id)
            assert between < (window or RECENT_EVENTS), (event_id, between)
        else:
            first[event_id] = i
    return copies
