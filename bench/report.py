"""The report: the headline figures (``docs/benchmarks.json``), a table for the terminal, and
``docs/BENCHMARKS.md`` with the machine, the commands and the details of every benchmark."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: (key, label, unit, target text, check) -- check(value) -> True/False, None: no target
TARGETS: dict[str, tuple[str, str, str]] = {
    "fraud_events_per_s": ("Fraud consumer through the harness", "events/s", ">= 10x baseline"),
    "baseline_events_per_s": ("Baseline: the seed's consumer", "events/s", ""),
    "raw_read_events_per_s": ("Ceiling: raw broker read", "events/s", ""),
    "fraud_handler_only_events_per_s": (
        "Fraud consumer, DynamoDB emulator time excluded",
        "events/s",
        "",
    ),
    "baseline_client_only_events_per_s": (
        "Baseline, DynamoDB emulator time excluded",
        "events/s",
        "",
    ),
    "ddb_requests_per_1000_events": ("DynamoDB requests per 1,000 events", "requests", "<= 50"),
    "baseline_ddb_requests_per_1000_events": (
        "Baseline DynamoDB requests per 1,000",
        "requests",
        "",
    ),
    "write_units_per_event": ("Write units per event", "WCU", ""),
    "baseline_write_units_per_event": ("Baseline write units per event", "WCU", ""),
    "e2e_p50_ms": ("End-to-end p50", "ms", ""),
    "e2e_p95_ms": ("End-to-end p95", "ms", ""),
    "e2e_p99_ms": ("End-to-end p99", "ms", "< 250"),
    "emitter_events_per_s": ("Emitter, broker-acknowledged", "events/s", ">= 20,000"),
    "consumer_max_lag_s": ("Earthquake consumer max lag at the stream rate", "s", "< 2"),
    "harness_ready_s": ("Harness start-up to ready", "s", ""),
    "harness_peak_rss_mb": ("Harness peak RSS during run 1", "MiB", ""),
}


def _get(data: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The figures of ``docs/benchmarks.json`` (numbers, plus a few booleans)."""
    fraud = results.get("fraud", {})
    base = fraud.get("baseline", {})
    tuned = _get(results, "latency", "tuned", "total_ms", default={})
    stream = _get(results, "quakes", "stream", default={})
    out: dict[str, Any] = {
        "fraud_events_per_s": _get(fraud, "harness", "events_per_s", default=0.0),
        "baseline_events_per_s": base.get("events_per_s", 0.0),
        "raw_read_events_per_s": _get(fraud, "raw_read", "events_per_s", default=0.0),
        "fraud_handler_only_events_per_s": _get(
            fraud, "harness", "handler_only_events_per_s", default=0.0
        ),
        "baseline_client_only_events_per_s": base.get("client_only_events_per_s", 0.0),
        "ddb_requests_per_1000_events": _get(fraud, "cost", "requests_per_1000", default=0.0),
        "baseline_ddb_requests_per_1000_events": _get(
            base, "cost", "requests_per_1000", default=0.0
        ),
        "write_units_per_event": _get(fraud, "cost", "write_units_per_event", default=0.0),
        "baseline_write_units_per_event": _get(base, "cost", "write_units_per_event", default=0.0),
        "e2e_p50_ms": tuned.get("p50", 0.0),
        "e2e_p95_ms": tuned.get("p95", 0.0),
        "e2e_p99_ms": tuned.get("p99", 0.0),
        "emitter_events_per_s": _get(
            results, "quakes", "emitter", "best", "events_per_s", default=0.0
        ),
        "consumer_max_lag_s": stream.get("max_lag_s", 0.0),
        "handler_import_ms": {p["function"]: p["ms"] for p in results.get("imports", [])},
        "harness_ready_s": _get(results, "harness", "ready_s", default=0.0),
        "harness_peak_rss_mb": _get(results, "harness", "peak_rss_mb_run1", default=0.0),
        "fraud_exactly_once": bool(_get(fraud, "verification", "exactly_once", default=False)),
        "quake_events_stored_once": bool(stream.get("stored_once", False)),
        "mark_fraud_loads_kafka": any(
            p["loads_kafka"] for p in results.get("imports", []) if p["function"] == "mark_fraud"
        ),
    }
    base_rate = out["baseline_events_per_s"]
    out["fraud_vs_baseline"] = out["fraud_events_per_s"] / base_rate if base_rate else 0.0
    base_only = out["baseline_client_only_events_per_s"]
    out["fraud_vs_baseline_emulator_excluded"] = (
        out["fraud_handler_only_events_per_s"] / base_only if base_only else 0.0
    )
    return out


def verdicts(h: dict[str, Any]) -> dict[str, bool]:
    return {
        "fraud_events_per_s": h["fraud_vs_baseline"] >= 10 and h["fraud_exactly_once"],
        "ddb_requests_per_1000_events": h["ddb_requests_per_1000_events"] <= 50,
        "e2e_p99_ms": 0 < h["e2e_p99_ms"] < 250,
        "emitter_events_per_s": h["emitter_events_per_s"] >= 20_000,
        "consumer_max_lag_s": h["quake_events_stored_once"] and h["consumer_max_lag_s"] < 2,
    }


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def rows(h: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, met) for the summary table."""
    met = verdicts(h)
    out = []
    for key, (label, unit, target) in TARGETS.items():
        value = f"{fmt(h[key])} {unit}".strip()
        if key == "fraud_events_per_s":
            value += f" ({h['fraud_vs_baseline']:.1f}x baseline)"
        if key == "fraud_handler_only_events_per_s":
            value += f" ({h['fraud_vs_baseline_emulator_excluded']:.1f}x baseline)"
        verdict = "" if key not in met else ("met" if met[key] else "NOT met")
        out.append((label, value, target, verdict))
    imports = h["handler_import_ms"]
    if imports:
        slowest = max(imports, key=imports.get)
        out.append(
            (
                "Handler import (slowest)",
                f"{imports[slowest]:.0f} ms ({slowest})",
                "mark_fraud without kafka",
                "met" if not h["mark_fraud_loads_kafka"] else "NOT met",
            )
        )
    return out


def table(h: dict[str, Any], results: dict[str, Any]) -> str:
    body = rows(h)
    widths = [max(len(r[i]) for r in [("Figure", "Value", "Target", ""), *body]) for i in range(4)]
    lines = []
    for r in [("Figure", "Value", "Target", ""), *body]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if r[0] == "Figure":
            lines.append("  ".join("-" * w for w in widths))
    lines.append(
        f"\nexactly once: {fmt(h['fraud_exactly_once'])}; "
        f"earthquakes stored once: {fmt(h['quake_events_stored_once'])}; "
        f"run took {results.get('bench_seconds', 0):.0f}s"
    )
    return "\n".join(lines)


def md_table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in body:
        lines.append("| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |")
    return "\n".join(lines)


def write(
    results: dict[str, Any], h: dict[str, Any], out_dir: Path, argv: Sequence[str]
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "benchmarks.json"
    md = out_dir / "BENCHMARKS.md"
    document = {**h, "date": results.get("date"), "details": results}
    js.write_text(json.dumps(document, indent=2, default=str) + "\n")
    md.write_text(markdown(results, h, argv))
    return md, js


def markdown(results: dict[str, Any], h: dict[str, Any], argv: Sequence[str]) -> str:
    return "# Benchmarks\n\n" + md_table(("Figure", "Value", "Target", ""), rows(h)) + "\n"
