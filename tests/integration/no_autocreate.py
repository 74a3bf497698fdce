"""A broker without topic auto-creation, made from the embedded one: a Kafka-aware TCP proxy.

Tansu creates every topic a client asks about, whatever the client's
``allow_auto_topic_creation`` says, while Amazon MSK (``auto.create.topics.enable=false`` by
default) answers ``UNKNOWN_TOPIC_OR_PARTITION``. This proxy relays every request and response
between a client and Tansu byte for byte, except Metadata responses, which it decodes with
kafka-python's protocol classes to (1) advertise itself instead of Tansu, so the client stays
behind it, and (2) report the topics in ``missing`` as unknown with no partitions, as a cluster
without auto-creation does.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterable

from kafka.protocol.metadata.metadata import MetadataResponse

METADATA = 3
UNKNOWN_TOPIC_OR_PARTITION = 3


def _read_frame(sock: socket.socket) -> bytes | None:
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    size = struct.unpack(">i", head)[0]
    body = bytearray()
    while len(body) < size:
        chunk = sock.recv(min(65536, size - len(body)))
        if not chunk:
            return None
        body += chunk
    return bytes(body)


class NoAutoCreateProxy:
    def __init__(self, target: str, missing: Iterable[str]) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.missing = set(missing)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            pending: dict[int, tuple[int, int]] = {}
            threading.Thread(target=self._up, args=(client, server, pending), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, pending), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, pending: dict) -> None:
        try:
            while (frame := _read_frame(client)) is not None:
                api_key, version, correlation = struct.unpack(">hhi", frame[:8])
                pending[correlation] = (api_key, version)
                server.sendall(struct.pack(">i", len(frame)) + frame)
        except OSError:
            pass
        finally:
            server.close()

    def _down(self, server: socket.socket, client: socket.socket, pending: dict) -> None:
        try:
            while (frame := _read_frame(server)) is not None:
                correlation = struct.unpack(">i", frame[:4])[0]
                api_key, version = pending.pop(correlation, (-1, -1))
                if api_key == METADATA:
                    frame = self._rewrite(frame, version, correlation)
                    client.sendall(frame)
                else:
                    client.sendall(struct.pack(">i", len(frame)) + frame)
        except OSError:
            pass
        finally:
            client.close()

    def _rewrite(self, frame: bytes, version: int, correlation: int) -> bytes:
        response = MetadataResponse.decode(frame, version=version, header=True)
        for broker in response.brokers:
            broker.host, broker.port = "127.0.0.1", self.port
        for topic in response.topics:
            if topic.name in self.missing:
                topic.error_code = UNKNOWN_TOPIC_OR_PARTITION
                topic.partitions = []
        response._header = None  # the version setter would write into a response header
        response.API_VERSION = version
        response.with_header(correlation_id=correlation)
        return bytes(response.encode(header=True, framed=True))
