"""One request at a time in front of moto, without letting an SQS long poll hold everyone else.

moto is not safe for concurrent requests, so the embedded server (``services/moto_server.py``)
serialises them behind one lock. moto answers a ``ReceiveMessage`` with ``WaitTimeSeconds`` > 0
on an empty queue by waiting in the request, lock held: one consumer's
``receive_message(WaitTimeSeconds=20)`` would stall every other request (DynamoDB, SNS, the
sends that would end the wait) for 20 s.

"Amazon SQS short and long polling" (SQS developer guide): a long poll returns as soon as a
message is available, or an empty response when the wait time expires; the wait is the request's
``WaitTimeSeconds`` or, without one, the queue's ``ReceiveMessageWaitTimeSeconds``. So a long
poll is served here as short receives (``WaitTimeSeconds=0``) under the lock, the lock released
between them: another request that completes (a send, say) wakes the poll for a new try, and a
try at least every ``RETRY_SECONDS`` catches messages whose delay or visibility timeout ends.
The first try with messages (or an error) is the answer; at the end of the wait, the last empty
one. Both SQS protocols are read: JSON (``X-Amz-Target: AmazonSQS.ReceiveMessage``) and query
(``Action=ReceiveMessage`` in a form body or the query string). A wait outside 0..20 goes to moto
as sent, which refuses it as SQS does.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

RETRY_SECONDS = 0.25
MAX_WAIT = 20

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


class _LongPoll:
    """A ``ReceiveMessage`` request that may wait: how to send it as a short receive."""

    def __init__(self, environ: dict[str, Any], body: bytes, protocol: str) -> None:
        self.environ = environ
        self.body = body
        self.protocol = protocol  # "json", "form" (body) or "query" (query string)
        if protocol == "json":
            try:
                self.params: dict[str, Any] = dict(json.loads(body or b"{}"))
            except ValueError:
                self.params = {}
        elif protocol == "form":
            self.params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            self.params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))

    def requested_wait(self) -> int | None:
        value = self.params.get("WaitTimeSeconds")
        if value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    def queue_wait(self) -> int:
        """The queue's ``ReceiveMessageWaitTimeSeconds`` (0 when the queue is not found)."""
        from moto.sqs.models import sqs_backends

        url = str(self.params.get("QueueUrl") or self.environ.get("PATH_INFO") or "")
        parts = [p for p in urlparse(url).path.split("/") if p]
        if len(parts) < 2:
            return 0
        account, name = parts[-2], parts[-1]
        found = _REGION.search(str(self.environ.get("HTTP_AUTHORIZATION", "")))
        region = found.group(1) if found else "us-east-1"
        try:
            queue = sqs_backends[account][region].get_queue(name)
            return int(getattr(queue, "receive_message_wait_time_seconds", 0) or 0)
        except Exception:
            return 0

    def short_environ(self) -> dict[str, Any]:
        """The request again, as a short receive (``WaitTimeSeconds=0``)."""
        environ = dict(self.environ)
        params = {**self.params, "WaitTimeSeconds": 0}
        body = self.body
        if self.protocol == "json":
            body = json.dumps(params).encode()
        elif self.protocol == "form":
            body = urlencode({k: str(v) for k, v in params.items()}).encode()
        else:
            environ["QUERY_STRING"] = urlencode({k: str(v) for k, v in params.items()})
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return environ


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def long_poll_of(environ: dict[str, Any]) -> _LongPoll | None:
    """The request as a ``_LongPoll`` when it is an SQS ``ReceiveMessage``, else None (its body,
    when read to tell, is put back)."""
    if environ.get("HTTP_X_AMZ_TARGET") == "AmazonSQS.ReceiveMessage":
        return _LongPoll(environ, _read_body(environ), "json")
    if "Action=ReceiveMessage" in str(environ.get("QUERY_STRING", "")):
        return _LongPoll(environ, _read_body(environ), "query")
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        body = _read_body(environ)
        if b"Action=ReceiveMessage" in body:
            return _LongPoll(environ, body, "form")
    return None


def _has_messages(body: bytes, protocol: str) -> bool:
    if protocol == "json":
        try:
            return bool(json.loads(body or b"{}").get("Messages"))
        except (ValueError, AttributeError):
            return True  # not an empty receive: answer it
    return b"<Message>" in body


class SerialApp:
    """A WSGI application serving ``app`` one request at a time; SQS long polls wait with the
    lock released (the module docstring)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], retry: float = RETRY_SECONDS):
        self.app = app
        self.retry = retry
        #: held while moto serves a request; notified when one completes
        self.changed = threading.Condition(threading.Lock())

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        poll = long_poll_of(environ)
        if poll is None:
            with self.changed:
                try:
                    return list(self.app(environ, start_response))
                finally:
                    self.changed.notify_all()
        with self.changed:
            wait = poll.requested_wait()
            if wait is None:
                wait = poll.queue_wait()
            if not 0 < wait <= MAX_WAIT:
                return list(self.app(environ, start_response))
            deadline = time.monotonic() + wait
            while True:
                status, headers, body = self._call(poll.short_environ())
                left = deadline - time.monotonic()
                if left <= 0 or not status.startswith("200") or _has_messages(body, poll.protocol):
                    break
                self.changed.wait(min(self.retry, left))  # the lock is free meanwhile
        start_response(status, headers)
        return [body]

    def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            answer.update(status=status, headers=headers)
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in answer["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return answer["status"], headers, body
