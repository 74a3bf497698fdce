"""Kafka records as Lambda's Java poller sees them, from what kafka-python returns.

* Header names are decoded leniently: Lambda's poller is the Java client, whose
  ``new String(bytes, UTF_8)`` turns bytes that are not UTF-8 into U+FFFD. kafka-python decodes
  header names strictly inside its record parsing, so one such name raised there on every poll
  and the partition never moved. ``lenient_header_names()`` makes that one decode lenient (the
  patch is applied once, when the Kafka source is imported; the harness's workers are separate
  processes and are not affected).
* Every compression codec (gzip, snappy, lz4, zstd) decodes: kafka-python does it with the codec
  packages the harness depends on.
* Null keys stay absent from the event, null header values become empty arrays, null values
  (tombstones) and empty values are delivered as an empty ``value``.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

from eventflow_local.events.kafka import RawRecord

__all__ = ["lenient_header_names", "raw_record", "record_size"]

_TIMESTAMP_TYPES = {0: "CREATE_TIME", 1: "LOG_APPEND_TIME"}
_STRICT = 'h_key = buffer[pos: pos + h_key_len].decode("utf-8")'
_LENIENT = 'h_key = buffer[pos: pos + h_key_len].decode("utf-8", "replace")'
_patched = False


def lenient_header_names() -> bool:
    """Make kafka-python decode record header names as the Java client does (True: done)."""
    global _patched
    if _patched:
        return True
    from kafka.record import default_records

    cls = default_records.DefaultRecordBatch
    try:
        source = textwrap.dedent(inspect.getsource(cls._read_msg))
    except (OSError, TypeError):
        return False
    if _STRICT not in source:
        return _LENIENT in source
    namespace: dict[str, Any] = {}
    exec(
        compile(source.replace(_STRICT, _LENIENT), default_records.__file__, "exec"),
        vars(default_records),
        namespace,
    )
    cls._read_msg = namespace["_read_msg"]
    _patched = True
    return True


def _b64_len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def record_size(rec: Any) -> int:
    """Upper bound of the record's JSON size inside a Lambda Kafka event."""
    size = 200 + len(rec.topic)
    if rec.value:
        size += _b64_len(len(rec.value))
    if rec.key:
        size += _b64_len(len(rec.key))
    if rec.headers:
        for name, value in rec.headers:
            size += len(name) * 6 + 12 + 6 * (len(value) if value else 0)
    return size


def raw_record(rec: Any) -> RawRecord:
    headers = rec.headers
    if headers and any(v is None for _, v in headers):
        headers = [(k, v or b"") for k, v in headers]
    return RawRecord(
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        value=rec.value,
        key=rec.key,
        headers=headers or (),
        timestamp=rec.timestamp if rec.timestamp and rec.timestamp > 0 else 0,
        timestamp_type=_TIMESTAMP_TYPES.get(rec.timestamp_type, "CREATE_TIME"),
    )
