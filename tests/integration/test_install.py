"""Both distributions build offline; the harness installs and runs on its own, and as a tool.

- The wheels are built from copies of ``harness/`` and of the app (``pip wheel --no-deps
  --no-build-isolation``: no network, no build dependency fetched).
- The harness alone: its wheel is installed with ``--no-deps`` into a fresh venv that sees the
  test venv's packages, less the app and the harness themselves, through a ``.pth`` file naming a
  folder of links to them; so the code under test is the installed wheel's, and ``eventflow``
  cannot be imported beside it. From a fixture app's folder it runs ``invoke`` and ``up``.
- As a tool: ``uv tool install --offline --no-index`` puts the wheel into a venv of its own, its
  dependencies resolved from a local folder of wheels (the test venv's installed distributions
  packed again as wheels: the versions this venv has, nothing downloaded). A user's own venv,
  active and on PYTHONPATH, with another moto (4.2.14) does not reach the tool's
  ``eventflow-local``: it runs ``invoke`` from the app's folder on the tool's moto.

What this does not prove: that PyPI serves versions within the harness's ranges today (the
resolution here is offline, against the one version of each package the test venv has), that
``pipx`` installs it as ``uv`` does, nor that a moto other than the installed one runs the
harness (tests/unit/test_moto_patches.py covers the checks that decide which patches apply).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "apps" / "cli_app"
STATIC = ROOT / "harness" / "src" / "eventflow_local" / "console" / "static"
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".eventflow-local", "build")
# what the app needs and the harness must not
APP_ONLY = {"eventflow", "pynamodb", "pydantic", "aws-lambda-powertools"}
# the test venv's entries a venv of the harness alone must not see
NOT_THE_HARNESS_ALONE = re.compile(r"(eventflow|eventflow_local)([-.].*)?|__editable__.*|.*\.pth")


def _run(args: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **options)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no harness of this checkout, no running stack."""
    unset = {
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "EVENTFLOW_STATE_DIR",
        "KAFKA_BOOTSTRAP_SERVERS",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL",
    }
    return {k: v for k, v in os.environ.items() if k not in unset} | extra


# --------------------------------------------------------------------------------- wheels
def _build(label: str, source: Path, copy: list[str], out: Path) -> Path:
    """A wheel of ``source`` built offline from a copy of the entries named in ``copy``."""
    where = out / f"source-{label}"
    where.mkdir(parents=True)
    for name in copy:
        if (source / name).is_dir():
            shutil.copytree(source / name, where / name, ignore=IGNORE)
        else:
            shutil.copy2(source / name, where / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    _run([*pip_wheel, str(where), "-w", str(out / f"dist-{label}")])
    (wheel,) = (out / f"dist-{label}").glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    return {
        "harness": _build("harness", ROOT / "harness", ["pyproject.toml", "README.md", "src"], out),
        "app": _build("app", ROOT, ["pyproject.toml", "README.md", "src"], out),
    }


def _metadata(wheel: Path) -> dict[str, list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(name).decode())
    return {key: message.get_all(key) or [] for key in ("Name", "Requires-Dist")}


def test_each_wheel_holds_its_own_package_only(wheels: dict[str, Path]) -> None:
    # GIVEN the two wheels, built offline
    harness, app = (zipfile.ZipFile(wheels[k]).namelist() for k in ("harness", "app"))
    # THEN the harness's holds eventflow_local's modules, the console's files and its metadata
    statics = {f"eventflow_local/console/static/{p.name}" for p in STATIC.iterdir()}
    assert {"index.html", "app.js", "console.css", "world.svg"} <= {
        p.name for p in STATIC.iterdir()
    }
    assert statics <= set(harness)
    others = [
        name
        for name in harness
        if not (name.startswith("eventflow_local/") and name.endswith(".py"))
        and name not in statics
        and not name.startswith("eventflow_local-0.1.0.dist-info/")
    ]
    assert others == []
    assert "eventflow_local/cli/main.py" in harness
    # AND its requirements name nothing of the app, and moto as a range
    meta = _metadata(wheels["harness"])
    assert meta["Name"] == ["eventflow-local"]
    requires = {
        canonicalize_name(Requirement(r).name): Requirement(r) for r in meta["Requires-Dist"]
    }
    assert not set(requires) & APP_ONLY
    moto = requires["moto"].specifier
    assert {"5.0.0", "5.2.5", "5.9.0"} <= set(
        moto.filter(["4.2.14", "5.0.0", "5.2.5", "5.9.0", "6.0.0"])
    )
    assert "4.2.14" not in moto and "6.0.0" not in moto
    # AND the app's holds eventflow and nothing of the harness
    assert "eventflow/__init__.py" in app
    assert not [name for name in app if name.startswith("eventflow_local")]
    assert _metadata(wheels["app"])["Name"] == ["eventflow"]


# --------------------------------------------------------------------------------- the harness alone
def _site_dirs() -> list[Path]:
    found = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return [Path(p) for p in sorted(found | set(site.getsitepackages())) if Path(p).is_dir()]


def _fresh_venv(where: Path) -> tuple[Path, Path]:
    """A venv without pip that sees the test venv's packages but not the app nor the harness."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(where)])
    python = where / "bin" / "python"
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    links = where.parent / f"{where.name}-packages"
    links.mkdir()
    for folder in _site_dirs():
        for entry in folder.iterdir():
            if (
                not NOT_THE_HARNESS_ALONE.fullmatch(entry.name)
                and not (links / entry.name).exists()
            ):
                (links / entry.name).symlink_to(entry)
    (purelib / "_test_venv_packages.pth").write_text(f"{links}\n")
    return python, purelib


@pytest.fixture(scope="module")
def harness_alone(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The harness wheel installed into a fresh venv, without the app: its ``bin`` folder."""
    venv = tmp_path_factory.mktemp("alone") / "venv"
    python, purelib = _fresh_venv(venv)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    _run([*pip, "--no-deps", "--no-index", str(wheels["harness"])])
    where = _run(
        [str(python), "-c", "import eventflow_local; print(eventflow_local.__file__)"],
        env=_clean_env(),
    )
    assert where.stdout.startswith(str(purelib))
    return venv / "bin"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "app", ignore=IGNORE)
    return tmp_path / "app"


def test_the_harness_alone_invokes_a_function_from_the_app_s_folder(
    harness_alone: Path, app: Path
) -> None:
    # GIVEN the harness installed alone: the app's package is not there
    env = _clean_env(PATH=f"{harness_alone}{os.pathsep}{os.environ['PATH']}")
    no_app = subprocess.run(
        [str(harness_alone / "python"), "-c", "import eventflow"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "No module named 'eventflow'" in no_app.stderr
    # WHEN its console script invokes a function from the app's folder
    done = _run(
        [str(harness_alone / "eventflow-local"), "invoke", "EchoFunction", "-e", "-"],
        env=env,
        cwd=app,
        input='{"from": "pip"}',
    )
    # THEN the function ran with the template's environment, and the state dir is the app's
    assert json.loads(done.stdout) == {
        "prefix": "echo",
        "event": {"from": "pip"},
        "env": {"PREFIX": "echo"},
    }
    assert (app / ".eventflow-local").is_dir()


def _lines_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """The process's output lines up to the one that starts with ``marker`` (or its end)."""
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(marker):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return lines


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_harness_alone_serves_the_app_s_route_with_up(
    harness_alone: Path, app: Path, started: list[subprocess.Popen[str]]
) -> None:
    # GIVEN `eventflow-local up` of the harness alone, in the app's folder, on a free port
    env = _clean_env(PATH=f"{harness_alone}{os.pathsep}{os.environ['PATH']}")
    up = subprocess.Popen(
        [str(harness_alone / "eventflow-local"), "up", "--port", "0"],
        cwd=app,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(up)
    # WHEN it says it is ready
    lines = _lines_until(up, "Ready.", 180)
    assert lines and lines[-1].startswith("Ready."), "\n".join(lines)
    # THEN its banner names the API and both functions, and the route answers through its function
    (api,) = (line.split()[1] for line in lines if line.strip().startswith("API "))
    assert {"    HelloFunction", "    EchoFunction"} <= set(lines)
    with urllib.request.urlopen(f"{api}/hello", timeout=30) as response:
        assert response.status == 200
        assert json.loads(response.read())["message"] == "hello from dev"
    # AND Ctrl-C stops everything, with exit code 0
    up.send_signal(signal.SIGINT)
    rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, rest
    assert rest.rstrip().endswith("stopped.")
    assert "Traceback" not in rest


# --------------------------------------------------------------------------------- as a tool
def _closure(requirements: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions these requirements need, extras and markers followed."""
    environment = default_environment()
    found: dict[str, importlib.metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        wanted = set(requirement.extras)
        if name in found and wanted <= extras_seen[name]:
            continue
        dist = found.get(name) or importlib.metadata.distribution(name)
        found[name] = dist
        extras_seen[name] = extras_seen.get(name, set()) | wanted
        for text in dist.requires or []:
            needed = Requirement(text)
            if needed.marker is None or any(
                needed.marker.evaluate(environment | {"extra": extra})
                for extra in ["", *sorted(extras_seen[name])]
            ):
                todo.append(needed)
    return found


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _pack(dist: importlib.metadata.Distribution, out: Path) -> Path:
    """An installed distribution packed again as a wheel: the files its RECORD lists under
    site-packages (console scripts are made again by the installer from entry_points.txt)."""
    tags = [
        line.split(":", 1)[1].strip().split("-")
        for line in (dist.read_text("WHEEL") or "").splitlines()
        if line.startswith("Tag:")
    ]
    # the tags' compressed set (py2.py3-none-any), as the wheel's name had it
    wheel_tag = "-".join(".".join(dict.fromkeys(tag[n] for tag in tags)) for n in range(3))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    path = out / f"{name}-{dist.version}-{wheel_tag}.whl"
    skipped = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        dist_info = ""
        for file in dist.files or []:
            posix = file.as_posix()
            if posix.startswith("..") or "__pycache__" in posix:
                continue
            if ".dist-info/" in posix:
                dist_info = posix.split("/", 1)[0]
                if posix.split("/", 1)[1] in skipped:
                    continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            archive.writestr(posix, data)
            record.append(f"{posix},{_hash(data)},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path


@pytest.fixture(scope="module")
def wheelhouse(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The harness wheel and, as wheels, the installed distributions its requirements need
    (some 250 MB: removed afterwards)."""
    out = tmp_path_factory.mktemp("wheelhouse")
    shutil.copy2(wheels["harness"], out)
    for dist in _closure(_metadata(wheels["harness"])["Requires-Dist"]).values():
        _pack(dist, out)
    yield out
    shutil.rmtree(out, ignore_errors=True)


def _uv() -> str:
    uv = shutil.which(
        "uv", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    assert uv, "uv is not installed: `make install` (the dev extra has it)"
    return uv


def _another_moto(venv: Path) -> Path:
    """A user's project venv whose moto is 4.2.14, a package with nothing else in it (the
    harness's moto server would fail at once on it): its site-packages."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    purelib = Path(
        _run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]
        ).stdout.strip()
    )
    (purelib / "moto").mkdir()
    (purelib / "moto" / "__init__.py").write_text('__version__ = "4.2.14"\n')
    (purelib / "moto-4.2.14.dist-info").mkdir()
    (purelib / "moto-4.2.14.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: moto\nVersion: 4.2.14\n"
    )
    return purelib


def test_a_tool_install_runs_beside_a_project_with_another_moto(
    wheelhouse: Path, app: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # GIVEN the harness installed as a tool, offline, from the wheelhouse
    tools, bin_dir = tmp_path / "tools", tmp_path / "bin"
    uv_env = _clean_env(
        UV_TOOL_DIR=str(tools),
        UV_TOOL_BIN_DIR=str(bin_dir),
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_CONFIG="1",
    )
    _run(
        [
            _uv(),
            "tool",
            "install",
            "--offline",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "--python",
            sys.executable,
            "eventflow-local",
        ],
        env=uv_env,
    )
    request.addfinalizer(lambda: shutil.rmtree(tmp_path, ignore_errors=True))
    tool_python = tools / "eventflow-local" / "bin" / "python"
    # AND a user's project venv, active and on PYTHONPATH, whose moto is another version
    user = tmp_path / "project-venv"
    user_packages = _another_moto(user)
    env = _clean_env(
        PYTHONPATH=str(user_packages),
        VIRTUAL_ENV=str(user),
        PATH=os.pathsep.join([str(user / "bin"), str(bin_dir), os.environ["PATH"]]),
    )
    version = "import importlib.metadata as m; print(m.version('moto'))"
    assert _run(["python", "-c", version], env=env).stdout.strip() == "4.2.14"
    # WHEN the user runs eventflow-local from the app's folder
    script = shutil.which("eventflow-local", path=env["PATH"])
    assert script == str(bin_dir / "eventflow-local")
    done = _run(
        [script, "invoke", "EchoFunction", "-e", "-"], env=env, cwd=app, input='{"from": "tool"}'
    )
    # THEN the function ran, on the tool's own moto (the one the wheelhouse had), every patch in
    assert json.loads(done.stdout)["event"] == {"from": "tool"}
    assert "not emulated: moto" not in done.stderr, done.stderr
    alone = _clean_env()
    tool_moto = _run([str(tool_python), "-c", version], env=alone).stdout.strip()
    assert tool_moto == importlib.metadata.version("moto") != "4.2.14"
    # AND the tool's venv has none of the test venv's packages
    paths = _run([str(tool_python), "-c", "import sys; print(sys.path)"], env=alone).stdout
    assert sys.prefix not in paths
    no_pytest = subprocess.run(
        [str(tool_python), "-c", "import pytest"], env=alone, capture_output=True
    )
    assert no_pytest.returncode != 0
