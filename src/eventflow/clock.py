"""Time, in one place, so tests can pin it."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_iso() -> str:
    """UTC timestamp with millisecond precision, lexicographically sortable."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_s() -> int:
    return int(time.time())


def epoch_ms() -> int:
    return int(time.time() * 1000)
