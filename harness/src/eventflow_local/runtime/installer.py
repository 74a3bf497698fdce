"""The dependency installer: ``pip install -r requirements.txt -t DIR`` into a cached folder
(or, for a ``BuildMethod: makefile`` layer, its Makefile's ``build-<LayerId>`` target with
``ARTIFACTS_DIR`` set to that folder, as ``sam build`` runs it:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-layers.html).

A function's or a layer's requirements are installed as ``sam build`` installs them, with the
Python of its runtime, into a directory of their own under the template's build cache. The
folder is named by what the build depends on (``cache_key``: the requirements, comments and
blank lines aside, the Python version and the machine), so a restart, another state directory
or a test run reuses it and a change of requirements builds again. A build is made in a
temporary folder and renamed into place, so an interrupted or concurrent build never leaves a
half-filled folder behind. Which builds a template needs, and how they make a function's import
path, is ``eventflow_local.runtime.build``'s business.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eventflow_local.runtime.pythons import Interpreter

Log = Callable[[str], None]

BUILD_FORMAT = "1"  # part of every cache key: a change of layout here rebuilds everything
PIP_TIMEOUT_S = 900.0
_PIP_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's own rule for comments in requirement files


class BuildError(Exception):
    """pip could not install a function's or a layer's requirements."""


def requirement_lines(text: str) -> list[str]:
    """The requirement lines of a requirements file: comments, blanks and spacing aside."""
    lines = []
    for raw in text.splitlines():
        line = _PIP_COMMENT.sub("", raw).strip()
        if line:
            lines.append(" ".join(line.split()))
    return lines


def cache_key(requirements: str, python: tuple[int, int], machine: str | None = None) -> str:
    """What a build depends on: the requirements, the Python version and the machine."""
    digest = hashlib.sha256()
    parts = [BUILD_FORMAT, f"{python[0]}.{python[1]}", machine or platform.machine()]
    digest.update("\n".join([*parts, *requirement_lines(requirements)]).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class BuildJob:
    """One ``pip install -r`` into a cached directory."""

    owner: str  # the function's or layer's logical id (or the public layer's name)
    requirements: str  # the requirements file's text
    source: str  # what the messages call it: "-r src/requirements.txt"
    interpreter: Interpreter
    cwd: Path  # relative paths in the requirements file are relative to it
    #: ``BuildMethod: makefile``: the Makefile target run instead of pip (``requirements`` is
    #: then the Makefile's text, so that a change of it builds again)
    make_target: str = ""

    @property
    def key(self) -> str:
        return cache_key(self.requirements, self.interpreter.version)

    @property
    def prefix(self) -> str:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.owner)
        return f"{safe}-py{self.interpreter.version[0]}.{self.interpreter.version[1]}-"

    def target(self, cache: Path) -> Path:
        return cache / (self.prefix + self.key)


def last_error_line(output: str) -> str:
    """pip's last ``ERROR:`` line (else its last line), for a one-line message."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip failed without a message"])[-1]


def _pip_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def _make(job: BuildJob, artifacts: Path) -> None:
    """``make -f Makefile <target>`` in the layer's folder with ``ARTIFACTS_DIR`` set, as
    ``sam build`` runs a ``BuildMethod: makefile`` build; the runtime's Python (and its pip)
    first on ``PATH``."""
    make = shutil.which("make")
    if make is None:
        raise BuildError(f"build {job.owner} failed: make is not installed on this machine")
    env = _pip_environment()
    env["ARTIFACTS_DIR"] = str(artifacts)
    env["PATH"] = os.pathsep.join([str(Path(job.interpreter.path).parent), env.get("PATH", "")])
    done = subprocess.run(
        [make, "-f", "Makefile", job.make_target],
        cwd=str(job.cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
    )
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise BuildError(
            f"build {job.owner} failed: make {job.make_target} ({job.interpreter.name}): "
            f"{(lines or ['make failed without a message'])[-1].strip()}"
        )


def build(job: BuildJob, cache: Path, log: Log) -> Path:
    """The job's build directory: the cached one, else a new one made by pip (BuildError)."""
    target = job.target(cache)
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    for left in cache.glob(f".tmp-{job.prefix}*"):  # of a build that was killed long ago
        if time.time() - left.stat().st_mtime > 2 * PIP_TIMEOUT_S:
            shutil.rmtree(left, ignore_errors=True)
    work = cache / f".tmp-{job.prefix}{uuid.uuid4().hex[:8]}"
    work.mkdir()
    started = time.monotonic()
    tool = "make" if job.make_target else "pip install"
    log(
        f"build {job.owner}: {tool} {job.source} with {job.interpreter.name} "
        f"into {target.parent.name}/{target.name}"
    )
    try:
        if job.make_target:
            _make(job, work)
        elif requirement_lines(job.requirements):
            req_file = work.with_suffix(".requirements.txt")
            req_file.write_text(job.requirements)
            try:
                pip = [job.interpreter.path, "-m", "pip", "install", "--quiet", "--no-input"]
                done = subprocess.run(
                    [*pip, "--disable-pip-version-check", "-r", str(req_file), "-t", str(work)],
                    cwd=str(job.cwd),
                    env=_pip_environment(),
                    capture_output=True,
                    text=True,
                    timeout=PIP_TIMEOUT_S,
                )
            finally:
                req_file.unlink(missing_ok=True)
            if done.returncode != 0:
                raise BuildError(
                    f"build {job.owner} failed: pip install {job.source} "
                    f"({job.interpreter.name}): {last_error_line(done.stderr + done.stdout)}"
                )
        try:
            work.rename(target)
        except OSError:  # another process built the same key meanwhile: use its build
            if not target.is_dir():
                raise
    except subprocess.TimeoutExpired as exc:
        raise BuildError(
            f"build {job.owner} failed: {tool} {job.source} took over {exc.timeout:.0f} s"
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for stale in cache.glob(job.prefix + "*"):  # earlier builds of other requirements
        if stale != target and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    log(f"build {job.owner}: done in {time.monotonic() - started:.1f}s")
    return target
