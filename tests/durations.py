"""Longest test files first: the order `make test` hands files to xdist's workers.

``--dist loadfile`` gives each worker one file at a time, in collection order (with
``--no-loadscope-reorder``; xdist's own order is by number of tests, which puts a file of a few
30-second fault tests behind a hundred unit cases). Started last, a long file keeps one worker busy
while the others have finished; started first, short files fill in around it. The seconds per file
come from ``tests/durations.json``, written by ``make test-durations`` from a ``--durations=0``
run; a file it does not list counts as the median, so a new file is neither first nor last.

    python -m tests.durations LOG > tests/durations.json   # LOG: pytest's output with --durations=0
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

TABLE = Path(__file__).with_name("durations.json")
LINE = re.compile(r"\s*([\d.]+)s (?:call|setup|teardown)\s+(\S+?)::")


def seconds_per_file(lines: Iterable[str]) -> dict[str, float]:
    """pytest's ``--durations=0`` lines -> {file: seconds of setup, call and teardown}."""
    totals: Counter[str] = Counter()
    for line in lines:
        match = LINE.match(line)
        if match:
            totals[match.group(2)] += float(match.group(1))
    return {name: round(total, 1) for name, total in sorted(totals.items())}


def load(path: Path = TABLE) -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        return {}


def longest_first(items: list, table: dict[str, float]) -> list:
    """``items`` with whole files ordered by their seconds, longest first (stable within a file
    and between files of equal weight)."""
    default = statistics.median(table.values()) if table else 0.0
    rank = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        rank.setdefault(path, (-table.get(path, default), len(rank)))
    return sorted(items, key=lambda item: rank[item.nodeid.split("::", 1)[0]])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    table = seconds_per_file(Path(argv[0]).read_text().splitlines())
    if not table:
        print(f"no --durations=0 lines in {argv[0]}", file=sys.stderr)
        return 2
    print(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
