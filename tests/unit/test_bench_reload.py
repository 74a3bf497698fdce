"""The reload benchmark's figures, row and section (``bench/reload_save.py``), from a result."""

from __future__ import annotations

from bench import reload_save, report

RESULT = {
    "saves": 20,
    "restarts": 3,
    "reload_ms": {
        "count": 20,
        "mean": 350.0,
        "p50": 340.0,
        "p95": 410.0,
        "p99": 420.0,
        "max": 430.0,
    },
    "reload_lines": 20,
    "restart_s": 4.2,
    "restart_runs_s": [4.1, 4.2, 4.4],
}


def test_the_summary_shows_save_to_answer_beside_a_restart() -> None:
    h = reload_save.headline(RESULT)
    assert h == {"reload_p50_ms": 340.0, "reload_p99_ms": 420.0, "restart_s": 4.2}
    assert reload_save.summary_row(h) == (
        "Save to changed answer (reload)",
        "p50 340 ms, p99 420 ms (restart 4.2 s)",
        "~1 s",
        "met",
    )
    assert reload_save.summary_row({}) is None


def test_the_report_carries_the_reload_figures_and_section() -> None:
    h = report.headline({"reload": RESULT})
    assert h["reload_p99_ms"] == 420.0
    assert "Save to changed answer (reload)" in [row[0] for row in report.rows(h)]
    out: list[str] = []
    reload_save.section(out.append, RESULT)
    text = "\n".join(out)
    assert "## 6. Reload on save" in text
    assert "| Save to changed answer | 340 ms | 420 ms | 430 ms |" in text
    assert "runs 4.1, 4.2, 4.4 s" in text
