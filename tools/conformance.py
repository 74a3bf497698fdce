"""SAM's own translator test corpus through ``eventflow-local validate``: ``make conformance``.

AWS's serverless-application-model repository keeps, under ``tests/translator/input/``, the
templates its transform is tested with: the ones it accepts, and the ``error_*`` ones it must
reject. Every one of them goes through the harness's ``validate`` command (``cli.main.main``,
in this one process, for speed), each with a time limit and read as the translator's tests read
it (``Transform: AWS::Serverless-2016-10-31`` implied when it declares none), and the run
reports:

- templates: how many were read;
- tracebacks: a template that made the harness raise instead of answering in one line (must be 0);
- hangs: a template still being read after the time limit (must be 0);
- ``error_*`` templates refused (exit 2, as SAM rejects them) and accepted;
- the other templates planned (exit 0) and refused (exit 2, with the reason);
- network: attempts to open a connection (must be 0: the corpus is read offline, and SAM's
  Serverless Application Repository lookups for ``AWS::Serverless::Application`` never run).

Then every mismatch, one line each: an ``error_`` template accepted, another template refused.
Exit status 1 when there is a traceback, a hang or a network attempt, else 0.

    python tools/conformance.py path/to/serverless-application-model/tests/translator/input
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import signal
import socket
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from eventflow_local.cli.main import main as cli_main

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class Hang(BaseException):
    """The template took longer than the time limit (BaseException: nothing catches it)."""


class NetworkAttempt(BaseException):
    """The harness tried to open a connection while reading a template."""


@dataclass
class Outcome:
    template: str
    kind: str  # "planned" | "refused" | "traceback" | "hang" | "network"
    message: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: str, *, error: bool | None = None) -> int:
        return sum(
            1
            for o in self.outcomes
            if o.kind == kind and (error is None or o.template.startswith("error_") == error)
        )

    @property
    def failed(self) -> bool:
        return any(self.count(kind) for kind in ("traceback", "hang", "network"))

    def mismatches(self) -> list[Outcome]:
        return [
            o
            for o in self.outcomes
            if o.kind in ("traceback", "hang", "network")
            or (o.template.startswith("error_") != (o.kind == "refused"))
        ]

    def lines(self) -> list[str]:
        errors = sum(1 for o in self.outcomes if o.template.startswith("error_"))
        others = len(self.outcomes) - errors
        out = [
            f"templates: {len(self.outcomes)}",
            f"tracebacks: {self.count('traceback')}",
            f"hangs: {self.count('hang')}",
            f"network: {self.count('network')}",
            f"error_ templates: {errors}: refused {self.count('refused', error=True)}, "
            f"accepted {self.count('planned', error=True)}",
            f"other templates: {others}: planned {self.count('planned', error=False)}, "
            f"refused {self.count('refused', error=False)}",
        ]
        reasons = Counter(
            _reason(o.message)
            for o in self.outcomes
            if o.kind == "refused" and not o.template.startswith("error_")
        )
        out.extend(f"  refused {n}: {reason}" for reason, n in reasons.most_common())
        mismatches = self.mismatches()
        if mismatches:
            out.append(f"mismatches ({len(mismatches)}):")
            out.extend(f"  {o.template}: {o.kind}: {o.message}" for o in mismatches)
        return out


def _reason(message: str) -> str:
    """A refusal's reason without its names, to count alike refusals together."""
    text = message.removeprefix("error: ").removeprefix("template: ")
    text = re.sub(r"\[[^\]]*\]|'[^']*'|\S+\.(yaml|json)", "...", text)
    return text.split(" (", 1)[0][:90]


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expired(signum: int, frame: FrameType | None) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Any connection attempt raises ``NetworkAttempt`` (and DNS look-ups too)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkAttempt(f"connection attempt {args[1:] or kwargs}")

    saved = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = saved  # type: ignore[method-assign]


def validate_one(path: Path, timeout: float) -> Outcome:
    """``eventflow-local validate -t path``, its exit status and first line of error."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _offline(),
            _time_limit(timeout),
        ):
            code = cli_main(["validate", "-t", str(path)])
    except Hang:
        return Outcome(path.name, "hang", f"still reading after {timeout:g} s")
    except NetworkAttempt as exc:
        return Outcome(path.name, "network", str(exc))
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Outcome(
            path.name,
            "traceback",
            f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})".replace(
                "\n", " "
            ),
        )
    except SystemExit as exc:  # argparse
        return Outcome(path.name, "refused" if exc.code == 2 else "traceback", err.getvalue())
    if code == 0:
        return Outcome(path.name, "planned")
    first = (err.getvalue().strip().splitlines() or [f"exit {code}"])[0]
    return Outcome(path.name, "refused" if code == 2 else "traceback", first)


def as_translator_reads_it(path: Path, folder: Path) -> Path:
    """The template as SAM's translator tests read it: its transform implied. Most of the
    corpus declares no ``Transform`` (the tests call the translator directly), and a template
    without it is plain CloudFormation to the harness, as to CloudFormation. A copy with the
    line added, in ``folder``, when it has none; the template itself otherwise."""
    text = path.read_text()
    if re.search(r"^Transform\s*:|\"Transform\"\s*:", text, re.MULTILINE):
        return path
    copy = folder / path.name
    if path.suffix == ".json":
        doc = json.loads(text)
        doc["Transform"] = SAM_TRANSFORM
        copy.write_text(json.dumps(doc))
    else:  # after a "%YAML 1.1" / "---" header, if any
        lines = text.splitlines(keepends=True)
        start = next((i + 1 for i, line in enumerate(lines[:3]) if line.startswith("---")), 0)
        lines.insert(start, f"Transform: {SAM_TRANSFORM}\n")
        copy.write_text("".join(lines))
    return copy


def run(corpus: Path, timeout: float = 20.0) -> Report:
    report = Report()
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        for path in sorted(corpus.glob("*.yaml")) + sorted(corpus.glob("*.json")):
            read = as_translator_reads_it(path, Path(scratch))
            report.outcomes.append(validate_one(read, timeout))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "corpus", type=Path, help="a folder of templates (SAM's tests/translator/input)"
    )
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per template")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: {args.corpus}: no such folder", file=sys.stderr)
        return 2
    report = run(args.corpus, args.timeout)
    print("\n".join(report.lines()))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
