"""Misconfiguration is named, never waited out: real sockets, each wrong setting, one sentence.

The producer (``eventflow.kafka.producer``) against a closed port, a plaintext broker spoken to
with TLS/SASL, and a TLS listener (or a listener that answers nothing) spoken to in plaintext: each
fails within 15 s with ``KafkaSetupError`` naming the variable to change; so does a topic the
cluster does not have when it does not create topics. The harness waits for a
broker that is still booting, says what it waits for, and fails naming KAFKA_BOOTSTRAP_SERVERS
without a traceback.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventflow.config import KafkaSettings
from eventflow.kafka.preflight import KafkaSetupError
from eventflow.kafka.producer import KafkaPublisher, Message
from eventflow_local.services.broker import BrokerError, EmbeddedBroker, free_port, wait_for_broker
from tests.integration.no_autocreate import NoAutoCreateProxy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 15.0


def settings(bootstrap: str, auth: str = "NONE") -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        auth=auth,
        client_id="misconfiguration-test",
        scram_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:never-read",
        region="us-east-1",
    )


def publish_error(bootstrap: str, auth: str = "NONE", topic: str = "t") -> tuple[str, float]:
    publisher = KafkaPublisher(settings(bootstrap, auth))
    started = time.monotonic()
    with pytest.raises(KafkaSetupError) as caught:
        publisher.publish([Message.json(topic, "k", {"n": 1})])
    return str(caught.value), time.monotonic() - started


class Listener:
    """A TCP server on loopback that accepts and then either stays silent or wraps TLS."""

    def __init__(self, tls_dir: Path | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.context: ssl.SSLContext | None = None
        if tls_dir is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(tls_dir / "cert.pem", tls_dir / "key.pem")
        self.held: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.context is None:
                self.held.append(conn)  # speaks nothing: reads nothing, answers nothing
                continue
            conn.settimeout(5)
            try:
                self.held.append(self.context.wrap_socket(conn, server_side=True))
            except (ssl.SSLError, OSError):
                conn.close()  # a plaintext client: the handshake fails, as a TLS broker's does

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closed.set()
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    """A self-signed certificate for 127.0.0.1, made here."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tmp_path


@pytest.fixture
def listener(request: pytest.FixtureRequest) -> Iterator[Callable[..., Listener]]:
    made: list[Listener] = []

    def make(tls_dir: Path | None = None) -> Listener:
        made.append(Listener(tls_dir))
        return made[-1]

    yield make
    for one in made:
        one.close()


# ------------------------------------------------------------------------------ the producer
def test_a_closed_port_names_the_bootstrap_servers_at_once():
    # GIVEN KAFKA_BOOTSTRAP_SERVERS pointing at a port nobody listens on
    bootstrap = f"127.0.0.1:{free_port()}"
    # WHEN the producer publishes
    message, took = publish_error(bootstrap)
    # THEN it fails within the limit naming the variable and what was wrong with the address
    assert took < LIMIT_S
    assert f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}" in message
    assert "refused the connection" in message


@pytest.mark.parametrize("auth", ["SCRAM", "IAM"])
def test_tls_sasl_settings_against_a_plaintext_broker_name_kafka_auth(kafka_bootstrap, auth):
    # GIVEN the embedded (plaintext) broker and KAFKA_AUTH=SCRAM or IAM (SASL over TLS)
    # WHEN the producer publishes
    message, took = publish_error(kafka_bootstrap, auth)
    # THEN it fails within the limit: the listener is plaintext, change KAFKA_AUTH or the port
    assert took < LIMIT_S
    assert f"KAFKA_AUTH={auth} needs a TLS listener" in message
    assert "is a plaintext Kafka listener" in message
    assert "Set KAFKA_AUTH=NONE" in message and "KAFKA_BOOTSTRAP_SERVERS" in message


def test_plaintext_against_a_tls_listener_names_kafka_auth(listener, tls_dir):
    # GIVEN a TLS listener and KAFKA_AUTH=NONE (plaintext)
    tls = listener(tls_dir)
    # WHEN the producer publishes
    message, took = publish_error(tls.bootstrap)
    # THEN it fails within the limit: this listener wants TLS, set KAFKA_AUTH
    assert took < LIMIT_S
    assert message.startswith("KAFKA_AUTH=NONE speaks plaintext, but 127.0.0.1:")
    assert "Set KAFKA_AUTH to IAM or SCRAM" in message


def test_a_listener_that_answers_nothing_is_named_not_waited_out(listener):
    # GIVEN a port that accepts connections and never answers (a TLS listener waiting for a
    # ClientHello behaves so)
    silent = listener()
    # WHEN the producer publishes in plaintext
    message, took = publish_error(silent.bootstrap)
    # THEN it fails within the limit naming KAFKA_AUTH and the bootstrap servers
    assert took < LIMIT_S
    assert "did not answer a plaintext Kafka request" in message
    assert "KAFKA_AUTH" in message and "KAFKA_BOOTSTRAP_SERVERS" in message


def test_tls_settings_against_a_silent_listener_name_the_handshake(listener):
    # GIVEN KAFKA_AUTH=SCRAM against a port that accepts and answers nothing
    silent = listener()
    # WHEN the producer publishes
    message, took = publish_error(silent.bootstrap, "SCRAM")
    # THEN it fails within the limit naming the failed handshake and the bootstrap servers
    assert took < LIMIT_S
    assert "failed the TLS handshake" in message
    assert "KAFKA_BOOTSTRAP_SERVERS" in message


def test_a_topic_the_cluster_lacks_names_the_topic_setting(
    kafka_bootstrap, make_topic, monkeypatch
):
    # GIVEN a cluster without topic auto-creation (the embedded broker behind a proxy that answers
    # UNKNOWN_TOPIC_OR_PARTITION for the missing topic, as MSK does by default), and
    # TRANSACTIONS_TOPIC naming that missing topic
    existing = make_topic()
    missing = f"{existing}-typo"
    proxy = NoAutoCreateProxy(kafka_bootstrap, {missing})
    monkeypatch.setenv("TRANSACTIONS_TOPIC", missing)
    try:
        publisher = KafkaPublisher(settings(proxy.bootstrap))
        assert publisher.publish([Message.json(existing, "k", {"n": 1})]) == 1
        # WHEN the producer publishes to the missing topic
        started = time.monotonic()
        with pytest.raises(KafkaSetupError) as caught:
            publisher.publish([Message.json(missing, "k", {"n": 2})])
        # THEN it fails within the limit naming the topic and the variable that chose it
        assert time.monotonic() - started < LIMIT_S
        assert str(caught.value) == (
            f"topic {missing!r} does not exist on the cluster at {proxy.bootstrap} (this producer "
            "never creates topics): create it, or fix TRANSACTIONS_TOPIC (template parameter "
            "TransactionsTopic)"
        )
    finally:
        proxy.close()


# ------------------------------------------------------------------------------ the harness
def test_the_harness_waits_for_a_booting_broker_and_says_what_it_waits_for(tmp_path):
    # GIVEN a broker that starts listening two seconds from now
    port = free_port()
    broker = EmbeddedBroker(port=port, log_path=tmp_path / "broker.log")
    timer = threading.Timer(2.0, broker.start)
    timer.start()
    lines: list[str] = []
    try:
        # WHEN the harness waits for it
        started = time.monotonic()
        wait_for_broker(
            f"127.0.0.1:{port}", 30, log=lines.append, setting="KAFKA_BOOTSTRAP_SERVERS"
        )
        # THEN it returns once the broker answers, having said what it waited for
        assert time.monotonic() - started >= 1.5
        assert lines and lines[0] == (
            f"waiting for the Kafka broker at 127.0.0.1:{port} (KAFKA_BOOTSTRAP_SERVERS): "
            "no connection accepted yet"
        )
    finally:
        timer.join()
        broker.stop()


def test_the_harness_gives_up_naming_the_setting():
    # GIVEN no broker at all
    bootstrap = f"127.0.0.1:{free_port()}"
    # WHEN the harness waits one second for it
    with pytest.raises(BrokerError) as caught:
        wait_for_broker(bootstrap, 1.0, setting="KAFKA_BOOTSTRAP_SERVERS")
    # THEN the error says where, how long, why, and which setting to check
    assert str(caught.value) == (
        f"no Kafka broker answered at {bootstrap} within 1s: no connection accepted yet; check "
        "KAFKA_BOOTSTRAP_SERVERS (host:port of a running broker), or unset it to use the "
        "embedded broker"
    )


def test_up_with_no_broker_fails_with_one_line_and_no_traceback(tmp_path):
    # GIVEN KAFKA_BOOTSTRAP_SERVERS naming a closed port and a two-second wait
    bootstrap = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_WAIT_SECONDS": "2",
        "PORT": "0",
    }
    # WHEN `python -m eventflow_local up` starts
    proc = subprocess.run(
        [sys.executable, "-m", "eventflow_local", "up", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # THEN it says what it waited for, exits 1 naming the setting, and prints no traceback
    assert proc.returncode == 1, proc.stderr
    assert f"waiting for the Kafka broker at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS)" in proc.stdout
    assert "check KAFKA_BOOTSTRAP_SERVERS" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
