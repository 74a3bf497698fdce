"""Benchmark 4: the import time of each handler module, as a cold start pays it.

For every function of the template: a fresh ``python3.X -X importtime -I -S`` process (the
function's interpreter) with the function's environment (``Stack.function_environment``), its
code directory as the working directory and, like the harness's worker, the code directory and
the function's import paths (its build, its layers, the runtime's boto3) first on ``sys.path``,
imports ``app``. The ``-X importtime`` report gives the cumulative time of ``app``
and of everything under it; each module is attributed to its top-level package.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")


@dataclass(frozen=True)
class Entry:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def parse_importtime(stderr: str) -> list[Entry]:
    """The lines of a ``-X importtime`` report, in the order printed (children first)."""
    entries = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            self_us, cum_us, indent, name = match.groups()
            entries.append(Entry(int(self_us), int(cum_us), len(indent) // 2, name))
    return entries


def module_imports(entries: list[Entry], module: str = "app") -> tuple[Entry | None, list[Entry]]:
    """The entry of ``module`` and every entry imported while importing it."""
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        if entry.name == module and entry.depth == 0:
            below = []
            for child in reversed(entries[:index]):
                if child.depth == 0:
                    break
                below.append(child)
            return entry, list(reversed(below))
    return None, []


def by_package(entries: list[Entry]) -> dict[str, int]:
    """Self time (microseconds) per top-level package, largest first."""
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        totals[entry.name.split(".")[0]] += entry.self_us
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


@dataclass
class ImportProfile:
    function: str
    logical_id: str
    runs_ms: list[float] = field(default_factory=list)
    packages_ms: dict[str, float] = field(default_factory=dict)
    modules: int = 0
    loads_kafka: bool = False
    error: str | None = None

    @property
    def ms(self) -> float:
        return statistics.median(self.runs_ms) if self.runs_ms else 0.0

    def top(self, n: int = 5) -> list[tuple[str, float]]:
        return list(self.packages_ms.items())[:n]


def profile(
    logical_id: str,
    code_dir: Path,
    layer_dirs: list[Path],
    env: dict[str, str],
    runs: int = 3,
    python: str = sys.executable,
) -> ImportProfile:
    result = ImportProfile(function=code_dir.name, logical_id=logical_id)
    paths = [str(code_dir), *(str(d) for d in layer_dirs)]
    code = f"import sys; sys.path[:0] = {paths!r}; import app"
    for _ in range(runs):
        done = subprocess.run(
            [python, "-X", "importtime", "-I", "-S", "-c", code],
            cwd=str(code_dir),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        entries = parse_importtime(done.stderr)
        app, below = module_imports(entries)
        if done.returncode != 0 or app is None:
            result.error = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return result
        result.runs_ms.append(app.cumulative_us / 1000)
        packages = by_package([app, *below])
        result.packages_ms = {k: v / 1000 for k, v in packages.items()}
        result.modules = len(below) + 1
        result.loads_kafka = "kafka" in packages
    return result


def profile_stack(stack: Any, runs: int = 3) -> list[ImportProfile]:
    out = []
    for logical_id, runtime in sorted(stack.runtimes.items()):
        spec = runtime.spec
        out.append(
            profile(
                logical_id,
                Path(spec.code_uri),
                runtime.import_paths,
                stack.function_environment(logical_id),
                runs,
                runtime.python,
            )
        )
    return out
