"""The Pythons on this machine, and which one runs a function of a given ``Runtime``.

Lambda runs a ``python3.X`` function on Python 3.X; so does the harness when that version is
installed: pyenv's versions folder (``$(pyenv root)/versions/3.X.Y/bin/python3.X``) first, then
``python3.X`` on PATH (checked by running it, since a pyenv shim may name a version it cannot
run). When it is not, the newest installed Python stands in, and ``eventflow_local.runtime.build`` says so once.
The harness's own interpreter is always among the candidates.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: tuple[int, int]

    @property
    def name(self) -> str:
        return f"python{self.version[0]}.{self.version[1]}"


def runtime_version(runtime: str) -> tuple[int, int] | None:
    """``python3.13`` -> (3, 13); None for any other runtime."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _probe(path: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [path, "-I", "-S", "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def _pyenv_root(environ: Mapping[str, str]) -> Path | None:
    if environ.get("PYENV_ROOT"):
        return Path(environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv", path=environ.get("PATH"))
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=20)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


@lru_cache(maxsize=4)
def _installed(path_env: str, pyenv_root: str) -> tuple[Interpreter, ...]:
    found: dict[tuple[int, int], Interpreter] = {}
    if pyenv_root:
        versions = sorted(Path(pyenv_root, "versions").glob("3.*"), reverse=True)
        for folder in versions:
            match = re.match(r"3\.(\d+)\.\d+$", folder.name)  # plain releases only
            if match:
                version = (3, int(match.group(1)))
                exe = folder / "bin" / f"python3.{version[1]}"
                if exe.is_file():
                    found.setdefault(version, Interpreter(str(exe), version))
    for minor in range(8, 30):
        if (3, minor) in found:
            continue
        on_path = shutil.which(f"python3.{minor}", path=path_env)
        if on_path and _probe(on_path) == (3, minor):  # a pyenv shim may name what it cannot run
            found[(3, minor)] = Interpreter(on_path, (3, minor))
    own = (sys.version_info[0], sys.version_info[1])
    found.setdefault(own, Interpreter(sys.executable, own))
    return tuple(sorted(found.values(), key=lambda i: i.version))


def installed_interpreters(environ: Mapping[str, str] | None = None) -> tuple[Interpreter, ...]:
    """Every Python 3 found on this machine, oldest first (the harness's own among them)."""
    env = os.environ if environ is None else environ
    root = _pyenv_root(env)
    return _installed(env.get("PATH", ""), str(root) if root else "")


def choose_interpreter(
    runtime: str, installed: Iterable[Interpreter]
) -> tuple[Interpreter, str | None]:
    """The interpreter for a ``pythonX.Y`` runtime, and a note when another one stands in."""
    pythons = list(installed)
    wanted = runtime_version(runtime)
    for interpreter in pythons:
        if interpreter.version == wanted:
            return interpreter, None
    newest = pythons[-1]
    return newest, (
        f"Runtime {runtime}: not installed on this machine; {newest.name} ({newest.path}) "
        "stands in for it"
    )
