"""Per-function builds: cache keys, cached directories, interpreters and layer resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventflow_local.runtime.build import LayerContent, TemplateBuild, import_paths
from eventflow_local.runtime.installer import (
    BuildError,
    BuildJob,
    build,
    cache_key,
    last_error_line,
    requirement_lines,
)
from eventflow_local.runtime.pythons import Interpreter, choose_interpreter, installed_interpreters
from eventflow_local.template.sam import SamTemplate

PY313 = (3, 13)
OWN = installed_interpreters()[-1]


# ------------------------------------------------------------------ cache keys
def test_the_key_ignores_comments_blank_lines_and_spacing() -> None:
    # GIVEN the same requirements written two ways
    plain = "fastjsonschema>=2.19,<3\ninflection==0.5.1\n"
    noisy = "# ours\n\nfastjsonschema>=2.19,<3   # schemas\n  inflection==0.5.1\n\n"

    # THEN they build the same directory
    assert cache_key(plain, PY313, "x86_64") == cache_key(noisy, PY313, "x86_64")


@pytest.mark.parametrize(
    ("requirements", "python", "machine"),
    [
        ("fastjsonschema>=2.20,<3\ninflection==0.5.1\n", PY313, "x86_64"),  # a requirement
        ("fastjsonschema>=2.19,<3\n", PY313, "x86_64"),  # one fewer
        ("fastjsonschema>=2.19,<3\ninflection==0.5.1\n", (3, 12), "x86_64"),  # the Python
        ("fastjsonschema>=2.19,<3\ninflection==0.5.1\n", PY313, "arm64"),  # the machine
    ],
)
def test_the_key_changes_with_what_the_build_depends_on(
    requirements: str, python: tuple[int, int], machine: str
) -> None:
    base = cache_key("fastjsonschema>=2.19,<3\ninflection==0.5.1\n", PY313, "x86_64")
    assert cache_key(requirements, python, machine) != base


def test_a_url_fragment_is_not_a_comment() -> None:
    # pip strips "#" comments only at a line's start or after whitespace
    line = "git+https://example.com/repo.git#egg=thing"
    assert requirement_lines(line) == [line]


def test_pip_last_error_line_is_kept() -> None:
    output = "WARNING: Location 'x' is ignored\nERROR: first\nERROR: No matching distribution\n"
    assert last_error_line(output) == "ERROR: No matching distribution"


# ------------------------------------------------------------------ cached directories
def _job(tmp_path: Path, requirements: str, owner: str = "Fn") -> BuildJob:
    return BuildJob(owner, requirements, "-r fn/requirements.txt", OWN, tmp_path)


def test_a_build_is_reused_and_replaces_the_previous_build_of_its_owner(tmp_path: Path) -> None:
    # GIVEN an earlier build of the same function with other requirements
    cache = tmp_path / "cache"
    job = _job(tmp_path, "# nothing to install\n")
    stale = cache / (job.prefix + "0" * 16)
    stale.mkdir(parents=True)
    lines: list[str] = []

    # WHEN it is built twice
    first = build(job, cache, lines.append)
    second = build(job, cache, lines.append)

    # THEN one build ran (one message), the second call reused it, the stale one is gone
    assert first == second and first.is_dir()
    assert sum(line.startswith("build Fn: pip install") for line in lines) == 1
    assert not stale.exists()
    assert [p.name for p in cache.iterdir()] == [first.name]


def test_a_failing_pip_names_the_owner_the_file_and_pip_error(tmp_path: Path) -> None:
    # GIVEN requirements pip cannot parse
    job = _job(tmp_path, "this is not a requirement!\n", owner="BrokenFunction")

    # WHEN it is built
    with pytest.raises(BuildError) as failed:
        build(job, tmp_path / "cache", lambda line: None)

    # THEN the one-line message says who, what and pip's own words, and nothing is cached
    message = str(failed.value)
    assert message.startswith("build BrokenFunction failed: pip install -r fn/requirements.txt")
    assert "ERROR: Invalid requirement" in message
    assert not job.target(tmp_path / "cache").exists()


# ------------------------------------------------------------------ interpreters
def test_the_runtime_python_is_used_when_installed_else_the_newest_stands_in() -> None:
    pythons = [Interpreter("/py/3.9", (3, 9)), Interpreter("/py/3.13", (3, 13))]

    assert choose_interpreter("python3.9", pythons) == (pythons[0], None)
    chosen, note = choose_interpreter("python3.14", pythons)
    assert chosen == pythons[1]
    assert note is not None and note.startswith("Runtime python3.14: not installed")


# ------------------------------------------------------------------ layers
TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    CodeUri: fn/
    Layers: [!Ref First]
Resources:
  First:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: first/}
  Second:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: second/}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Layers:
        - !Ref Second
        - arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:7
        - arn:aws:lambda:eu-west-1:111122223333:layer:private:1
"""


def test_layers_resolve_globals_first_and_public_powertools_from_pypi(tmp_path: Path) -> None:
    # GIVEN a function with a Globals layer, its own layer and two layer ARNs
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    for name in ("first", "second"):
        (tmp_path / name / "python" / "lib" / "python3.13" / "site-packages").mkdir(parents=True)
    (tmp_path / "fn").mkdir()
    spec = SamTemplate(tmp_path / "template.yaml").functions()["Fn"]
    builds = TemplateBuild(SamTemplate(tmp_path / "template.yaml"), tmp_path / "c", log=print)

    # THEN the entries keep the template's order, Globals' first
    assert spec.layers[:2] == ["First", "Second"]
    layers = [builds.layer(entry, "Fn", OWN) for entry in spec.layers]

    # AND AWS's Powertools layer becomes a build of the same major version from PyPI
    powertools = layers[2]
    assert powertools is not None and powertools.job is not None
    assert powertools.job.requirements == "aws-lambda-powertools[all]>=3,<4"

    # AND another account's layer is named as not emulated
    assert layers[3] is None
    assert builds.skipped == [
        "Fn.Layers: arn:aws:lambda:eu-west-1:111122223333:layer:private:1: a layer outside the "
        "template cannot be downloaded; the function runs without it"
    ]

    # AND on the import path the later layer comes first, site-packages before python/
    first, second = layers[0], layers[1]
    assert first is not None and second is not None
    paths = import_paths(None, [first, second], PY313, tmp_path / "c", tmp_path / "rt")
    site = Path("python", "lib", "python3.13", "site-packages")
    assert paths == [
        tmp_path / "second" / site,
        tmp_path / "first" / site,
        tmp_path / "second" / "python",
        tmp_path / "first" / "python",
        tmp_path / "rt",
    ]


def test_a_built_layer_puts_its_build_and_its_content_on_the_path(tmp_path: Path) -> None:
    job = _job(tmp_path, "inflection\n", owner="TextLayer")
    layer = LayerContent("TextLayer", roots=[tmp_path / "layer"], job=job)
    paths = import_paths(tmp_path / "fn-build", [layer], PY313, tmp_path / "c", tmp_path / "rt")
    assert paths == [
        tmp_path / "fn-build",
        job.target(tmp_path / "c"),
        tmp_path / "layer",
        tmp_path / "rt",
    ]
