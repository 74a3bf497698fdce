"""The harness installs into another project with pip and runs there as ``eventflow-local``.

The wheel is built from a copy of the sources and installed with ``--no-deps`` into a fresh venv
that sees the test venv's packages through a ``.pth`` file (not this checkout: a ``.pth``-added
folder's own ``.pth`` files, such as the editable install's, are not processed), so the test
stays fast and offline while the code under test is the installed wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "apps" / "cli_app"
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".eventflow-local")


def _run(args: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, **options)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(ROOT / "harness", source, ignore=IGNORE)
    dist = tmp_path / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    _run([*pip_wheel, str(source), "-w", str(dist)])
    (wheel,) = dist.glob("eventflow_local-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path) -> tuple[Path, Path]:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    # the test venv's packages (boto3, moto, the broker ...) for the installed harness
    ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    (Path(purelib) / "_test_venv_packages.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv, Path(purelib)


def test_the_wheel_installs_and_runs_an_app_from_its_folder(tmp_path: Path) -> None:
    # GIVEN a wheel of the project
    wheel = _build_wheel(tmp_path)
    top = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert "local" not in top
    assert "eventflow_local" in top and "eventflow" not in top
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("index.html", "app.js", "console.css", "world.svg"):  # the console's page
        assert f"eventflow_local/console/static/{asset}" in names

    # WHEN it is installed into a fresh venv
    venv, site_packages = _fresh_venv(tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)])

    # THEN no package named `local` lands in site-packages, and the harness is the installed one
    assert not (site_packages / "local").exists()
    assert (site_packages / "eventflow_local" / "cli" / "main.py").is_file()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    for key in ("EVENTFLOW_STATE_DIR", "KAFKA_BOOTSTRAP_SERVERS", "AWS_ENDPOINT_URL_DYNAMODB"):
        env.pop(key, None)
    where = _run(
        [str(python), "-c", "import eventflow_local; print(eventflow_local.__file__)"], env=env
    )
    assert where.stdout.strip().startswith(str(site_packages))

    # AND its console script answers --help
    script = venv / "bin" / "eventflow-local"
    helped = _run([str(script), "--help"], env=env, cwd=tmp_path)
    for command in ("up", "invoke", "start-api"):
        assert command in helped.stdout

    # AND invoke runs another project's function from that project's folder
    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=IGNORE)
    done = _run(
        [str(script), "invoke", "EchoFunction", "-e", "-"],
        env=env,
        cwd=app,
        input='{"from": "pip"}',
    )
    assert json.loads(done.stdout) == {
        "prefix": "echo",
        "event": {"from": "pip"},
        "env": {"PREFIX": "echo"},
    }
    assert (app / ".eventflow-local").is_dir()
