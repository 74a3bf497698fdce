"""Before the producer starts: does a broker of ``KAFKA_BOOTSTRAP_SERVERS`` speak what ``KAFKA_AUTH`` expects?

A Kafka client pointed at the wrong kind of listener does not fail, it waits: kafka-python's TLS
handshake against a plaintext broker (which reads the ClientHello as the length of a huge request)
or its plaintext requests against a TLS listener (which waits for a handshake) hang until the
function's timeout, and the log says nothing useful. This probe costs one round trip per cold
start and turns each of those states into one sentence that names the setting to change:

* no broker accepts a connection            -> ``KAFKA_BOOTSTRAP_SERVERS``
* ``KAFKA_AUTH=NONE`` against a TLS listener -> ``KAFKA_AUTH`` (or the plaintext port)
* ``KAFKA_AUTH=IAM|SCRAM`` against plaintext -> ``KAFKA_AUTH=NONE`` or the TLS port
  (Amazon MSK: 9094 TLS, 9096 SASL/SCRAM, 9098 IAM; see
  https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html)

The plaintext check sends a Kafka ``ApiVersions`` v0 request, which every broker since 0.10
answers; the TLS check only completes a handshake. Nothing is read beyond that.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Sequence

from eventflow.errors import TransientError

PROBE_TIMEOUT_S = 3.0
#: the whole probe (every bootstrap server) stays within this, so a misconfiguration is named
#: well within 15 s of a cold start
PROBE_BUDGET_S = 9.0
TLS_PORTS_HINT = "Amazon MSK listens on 9094 (TLS), 9096 (SASL/SCRAM) and 9098 (IAM)"
_API_VERSIONS_V0 = struct.pack(">hhih", 18, 0, 0x4556, 9) + b"eventflow"


class KafkaSetupError(TransientError):
    """The producer's settings do not fit the cluster; the message names the setting to change.

    A subclass of ``TransientError``: the invocation fails and its event source retries, so the
    records go through once the setting is fixed, and an API answers 503 with this message.
    """


def split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    servers = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise KafkaSetupError(
                f"KAFKA_BOOTSTRAP_SERVERS: {item!r} is not host:port (set it to a comma-separated "
                "list such as b-1.example:9098,b-2.example:9098)"
            )
        servers.append((host.strip("[]"), int(port)))
    if not servers:
        raise KafkaSetupError("KAFKA_BOOTSTRAP_SERVERS is empty: set it to the brokers' host:port")
    return servers


def _kafka_answer(sock: socket.socket) -> str | None:
    """Send ApiVersions v0 in plaintext; None when a Kafka response came back, else why not."""
    sock.sendall(struct.pack(">i", len(_API_VERSIONS_V0)) + _API_VERSIONS_V0)
    try:
        head = sock.recv(8)
    except TimeoutError:
        return (
            "did not answer a plaintext Kafka request within "
            f"{sock.gettimeout():.0f}s (a TLS listener waits for a handshake)"
        )
    except ConnectionResetError:
        return "reset the connection on a plaintext Kafka request (a TLS or SASL listener?)"
    if not head:
        return "closed the connection on a plaintext Kafka request (a TLS or SASL listener?)"
    if head[:1] == b"\x15" and head[1:2] == b"\x03":
        return "answered a plaintext Kafka request with a TLS alert: it is a TLS listener"
    if len(head) >= 8 and struct.unpack(">i", head[4:8])[0] == 0x4556:
        return None
    return "answered with something that is not a Kafka response"


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


def _probe_plaintext(host: str, port: int, timeout: float) -> str | None:
    with _connect(host, port, timeout) as sock:
        return _kafka_answer(sock)


def _probe_tls(host: str, port: int, timeout: float) -> str | None:
    """None when a TLS handshake completes; else why not (naming a plaintext Kafka listener)."""
    context = ssl.create_default_context()
    try:
        with (
            _connect(host, port, timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        return f"speaks TLS but its certificate is not trusted here ({exc.verify_message})"
    except (ssl.SSLError, TimeoutError, ConnectionResetError, OSError) as exc:
        handshake = f"{type(exc).__name__}: {exc}".strip(": ")
    # why did the handshake fail? a plaintext Kafka listener answers a plaintext request
    try:
        plain = _probe_plaintext(host, port, timeout)
    except OSError:
        plain = "no"
    if plain is None:
        return "is a plaintext Kafka listener: it does not speak TLS"
    return f"failed the TLS handshake ({handshake})"


def check_listener(
    bootstrap: str,
    auth: str,
    *,
    timeout: float = PROBE_TIMEOUT_S,
    budget: float = PROBE_BUDGET_S,
) -> None:
    """Raise ``KafkaSetupError`` unless one broker of ``bootstrap`` speaks what ``auth`` needs.

    ``auth`` is ``KAFKA_AUTH``: NONE needs a plaintext listener, IAM and SCRAM a TLS one.
    """
    servers = split_bootstrap(bootstrap)
    tls = auth != "NONE"
    deadline = time.monotonic() + budget
    problems: list[tuple[str, str]] = []
    for host, port in servers:
        left = deadline - time.monotonic()
        if left <= 0.2:
            break
        step = min(timeout, left / 2)
        where = f"{host}:{port}"
        try:
            problem = _probe_tls(host, port, step) if tls else _probe_plaintext(host, port, step)
        except socket.gaierror as exc:
            problem = f"cannot be resolved ({exc.strerror})"
        except TimeoutError:
            problem = f"did not accept a connection within {step:.0f}s"
        except OSError as exc:
            problem = f"refused the connection ({exc.strerror or exc})"
        if problem is None:
            return
        problems.append((where, problem))
    raise KafkaSetupError(_explain(bootstrap, auth, problems))


def _explain(bootstrap: str, auth: str, problems: Sequence[tuple[str, str]]) -> str:
    detail = "; ".join(f"{where} {problem}" for where, problem in problems)
    kinds = " ".join(problem for _, problem in problems)
    if "plaintext Kafka listener" in kinds:
        return (
            f"KAFKA_AUTH={auth} needs a TLS listener, but {detail}. Set KAFKA_AUTH=NONE for a "
            f"plaintext cluster, or point KAFKA_BOOTSTRAP_SERVERS at the TLS port "
            f"({TLS_PORTS_HINT})"
        )
    if auth == "NONE" and any(
        word in kinds for word in ("TLS", "handshake", "closed the connection", "reset")
    ):
        return (
            f"KAFKA_AUTH=NONE speaks plaintext, but {detail}. Set KAFKA_AUTH to IAM or SCRAM "
            "for a TLS/SASL listener, or point KAFKA_BOOTSTRAP_SERVERS at the plaintext port"
        )
    if "certificate" in kinds:
        return f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}: {detail}"
    return (
        f"no Kafka broker reachable at KAFKA_BOOTSTRAP_SERVERS={bootstrap}: {detail}. "
        "Check KAFKA_BOOTSTRAP_SERVERS (host:port of the brokers) and that the network "
        "(VPC subnets and security groups: SubnetIds, SecurityGroupIds) lets the function reach them"
    )
