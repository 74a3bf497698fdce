"""The harness's line output."""

from __future__ import annotations

import sys
import threading
from typing import Any


class Console:
    """Thread-safe line output shared by the harness and the workers' logs."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()
