"""The earthquake stream's highest sustained rate: a search, not one fixed rate.

A rate is *sustained* when a run at it (``bench.quakes.stream``) stores every event once, the
emitter achieved at least 90% of it, and the p99 of the events' lag (stored minus generated) stays
under the target (2 s). The search doubles the rate from ``start`` while runs are sustained (halves it
while they are not), then bisects between the last sustained and the first failed rate for ``refine`` steps. Each run is
short (``seconds``); lag grows with a backlog, so a rate the consumer cannot keep up with fails
within it. The figure depends on the machine and the DynamoDB engine: the report shows it per
engine, with the engine's share of the consumer's time at the first failed rate (its bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: the lag p99 a sustained rate keeps under (ms)
LAG_P99_TARGET_MS = 2000.0
MIN_ACHIEVED = 0.9


@dataclass
class Probe:
    rate: float
    achieved_rate: float
    lag_p99_ms: float
    stored_once: bool
    handler_s: float
    ddb_server_s: float
    sustained: bool


@dataclass
class Search:
    best_rate: float = 0.0
    first_failed_rate: float | None = None
    probes: list[Probe] = field(default_factory=list)
    #: the run at ``best_rate`` (a ``StreamRun``), for the report's stream section
    best_run: Any = None

    @property
    def bound(self) -> Probe | None:
        """The first failed run, whose figures name what bounds the rate."""
        failed = [p for p in self.probes if not p.sustained]
        return min(failed, key=lambda p: p.rate) if failed else None

    def as_dict(self) -> dict[str, Any]:
        bound = self.bound
        return {
            "sustained_rate_events_per_s": self.best_rate,
            "first_failed_rate": self.first_failed_rate,
            "lag_p99_target_ms": LAG_P99_TARGET_MS,
            "probes": [asdict(p) for p in self.probes],
            "engine_share_at_bound": (
                bound.ddb_server_s / bound.handler_s if bound and bound.handler_s else None
            ),
        }


def judge(run: Any) -> Probe:
    p99 = float(run.event_lag_ms.get("p99", 0.0))
    sustained = (
        run.stored_once and p99 < LAG_P99_TARGET_MS and run.achieved_rate >= MIN_ACHIEVED * run.rate
    )
    return Probe(
        rate=run.rate,
        achieved_rate=run.achieved_rate,
        lag_p99_ms=p99,
        stored_once=run.stored_once,
        handler_s=run.handler_s,
        ddb_server_s=run.ddb_server_s,
        sustained=sustained,
    )


def search(
    run_at: Callable[[float], Any],
    *,
    start: float = 250.0,
    ceiling: float = 16_000.0,
    floor: float = 30.0,
    refine: int = 2,
    log: Callable[[str], None] = print,
) -> Search:
    """``run_at(rate)`` runs the stream at ``rate`` and returns its ``StreamRun``."""
    out = Search()

    def probe(rate: float) -> bool:
        run = run_at(rate)
        result = judge(run)
        out.probes.append(result)
        log(
            f"   {rate:,.0f}/s: lag p99 {result.lag_p99_ms:,.0f} ms, achieved "
            f"{result.achieved_rate:,.0f}/s -> {'sustained' if result.sustained else 'not'}"
        )
        if result.sustained and rate > out.best_rate:
            out.best_rate, out.best_run = rate, run
        return result.sustained

    rate = start
    if probe(rate):
        while rate * 2 <= ceiling and probe(rate * 2):
            rate *= 2
        if rate * 2 > ceiling:
            return out
        high = rate * 2
    else:
        high = rate
        while rate / 2 >= floor:
            rate /= 2
            if probe(rate):
                break
            high = rate
        if not out.best_rate:
            out.first_failed_rate = high
            return out
    out.first_failed_rate = high
    low = out.best_rate
    for _ in range(refine):
        middle = round((low + high) / 2, -1)
        if middle in (low, high):
            break
        if probe(middle):
            low = middle
        else:
            high = middle
    return out
