"""Small statistics helpers (no numpy)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    Same definition as numpy's default: for ``n`` sorted values, rank ``q/100 * (n - 1)``.
    Raises ValueError on an empty input or ``q`` outside [0, 100].
    """
    data = sorted(values)
    if not data:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    rank = q / 100 * (len(data) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(data[low])
    return float(data[low] + (data[high] - data[low]) * (rank - low))


def summary(values: Sequence[float]) -> dict[str, float]:
    """count, mean, p50, p95, p99 and max of ``values`` (all 0 when empty)."""
    if not values:
        return {"count": 0, "mean": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "count": len(values),
        "mean": sum(values) / len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": float(max(values)),
    }


def rate(count: float, seconds: float) -> float:
    """``count / seconds``, 0 when no time passed."""
    return count / seconds if seconds > 0 else 0.0
