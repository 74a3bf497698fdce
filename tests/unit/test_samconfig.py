"""SAM CLI's samconfig.toml / .yaml gives the flags' defaults, with SAM CLI's precedence: the
command line, then the command's section, then ``global``, then the flag's own default."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventflow_local.cli.args import UsageError
from eventflow_local.cli.main import build_parser, main
from eventflow_local.cli.samconfig import parse_args

TOML = """\
version = 0.1

[default.global.parameters]
region = "eu-west-1"
host = "0.0.0.0"

[default.local_start_api.parameters]
port = 3001
parameter_overrides = "Stage=file Greeting='good day'"

[default.local_invoke.parameters]
env_vars = "env.json"

[default.up.parameters]
kafka_port = 9999

[prod.local_start_api.parameters]
port = 8080
"""


def parse(folder: Path, *argv: str, warnings: list[str] | None = None):
    lines = warnings if warnings is not None else []
    return parse_args(build_parser(), list(argv), lines.append, cwd=folder)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "samconfig.toml").write_text(TOML)
    return tmp_path


def test_the_files_values_are_the_defaults_of_the_command_and_global(project: Path) -> None:
    # WHEN start-api runs in the project's folder with no flags
    args = parse(project, "start-api")
    # THEN its section gives the port and the parameter overrides, global the region and host
    assert args.port == 3001
    assert args.parameter_overrides == ["Stage=file Greeting='good day'"]
    assert (args.region, args.host) == ("eu-west-1", "0.0.0.0")
    # AND each command reads its own section: invoke (local_invoke) and up (our own `up`)
    assert parse(project, "invoke", "Fn").env_vars == "env.json"
    assert parse(project, "up").kafka_port == 9999
    assert parse(project, "up").port is None


def test_the_command_line_wins_over_the_file(project: Path) -> None:
    # WHEN the command line gives the port, the region and other parameter overrides
    args = parse(
        project, "start-api", "-p", "4000", "--region", "us-west-2", "--param", "Stage=cli"
    )
    # THEN its values win, the overrides replace the file's whole (as SAM CLI's), and what the
    # line leaves out still comes from the file
    assert (args.port, args.region) == (4000, "us-west-2")
    assert args.parameter_overrides == ["Stage=cli"]
    assert args.host == "0.0.0.0"


def test_the_commands_section_wins_over_global(tmp_path: Path) -> None:
    # GIVEN a region in global and another in the command's section
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.global.parameters]\nregion = "eu-west-1"\n'
        '[default.validate.parameters]\nregion = "ap-south-1"\n'
    )
    # THEN the command's own wins
    assert parse(tmp_path, "validate").region == "ap-south-1"


def test_config_env_picks_an_environment_and_default_is_the_default(project: Path) -> None:
    # WHEN --config-env prod is given
    args = parse(project, "start-api", "--config-env", "prod")
    # THEN prod's section is read and nothing of default's
    assert args.port == 8080
    assert args.parameter_overrides == [] and args.region is None
    # AND an environment the file lacks is one warning line, and the flags' own defaults
    warnings: list[str] = []
    assert parse(project, "start-api", "--config-env", "qa", warnings=warnings).port is None
    assert warnings == ["samconfig.toml has no environment 'qa': none of its values are used"]


def test_the_file_is_looked_for_beside_the_template(tmp_path: Path, project: Path) -> None:
    # GIVEN the project in another folder than the current one
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # WHEN the template is named with -t
    args = parse(elsewhere, "start-api", "-t", str(project / "template.yaml"))
    # THEN the samconfig.toml beside it is read
    assert args.port == 3001
    # AND with no -t, the current folder's (here none) is read: the flags' own defaults
    assert parse(elsewhere, "start-api").port is None


def test_config_file_names_another_file_and_a_relative_template_file_is_beside_it(
    tmp_path: Path,
) -> None:
    # GIVEN a YAML configuration file under conf/ naming the template relative to itself
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "local.yaml").write_text(
        "version: 0.1\ndefault:\n  local_start_api:\n    parameters:\n"
        "      template_file: ../app/template.yaml\n      port: 3002\n"
        "      parameter_overrides: [Stage=yaml, 'Greeting=hi there']\n"
    )
    # WHEN it is given with --config-file
    args = parse(tmp_path, "start-api", "--config-file", "conf/local.yaml")
    # THEN its values are read, a list as a list, the template from the file's folder
    assert args.port == 3002
    assert args.parameter_overrides == ["Stage=yaml", "Greeting=hi there"]
    assert args.template == tmp_path / "conf" / "../app/template.yaml"


@pytest.mark.parametrize("name", ["samconfig.yaml", "samconfig.yml"])
def test_a_yaml_file_is_read_when_there_is_no_toml(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(
        "version: 0.1\ndefault:\n  global:\n    parameters:\n      region: sa-east-1\n"
    )
    assert parse(tmp_path, "invoke").region == "sa-east-1"


def test_a_key_the_command_does_not_know_is_one_warning_line(tmp_path: Path) -> None:
    # GIVEN SAM CLI's warm_containers for start-api, and a deploy key in global
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "app"\n'
        '[default.local_start_api.parameters]\nwarm_containers = "EAGER"\nport = 3005\n'
    )
    warnings: list[str] = []
    # WHEN start-api reads it
    args = parse(tmp_path, "start-api", warnings=warnings)
    # THEN the command's unknown key is named once and ignored; global's belongs to other
    # commands and is ignored silently; the rest applies
    assert warnings == [
        "samconfig.toml [default.local_start_api.parameters]: warm_containers is not an "
        "option of start-api: ignored"
    ]
    assert args.port == 3005


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = 0.1\n[default\n", "samconfig.toml: not valid TOML: "),
        ('[default.global.parameters]\nregion = "x"\n', "'version' key is not present"),
        ("version = 0.1\ndefault = 3\n", "samconfig.toml: [default] is not a table"),
        (
            "version = 0.1\n[default.local_start_api]\nparameters = 1\n",
            "[default.local_start_api.parameters] is not a table",
        ),
        (
            "version = 0.1\n[default.local_start_api.parameters]\nport = 99999\n",
            "port = 99999: '99999' is not a port",
        ),
        (
            'version = 0.1\n[default.up.parameters]\ndynamodb = "mongo"\n',
            "dynamodb = 'mongo': one of moto, local",
        ),
        (
            'version = 0.1\n[default.up.parameters]\nin_memory = "yes"\n',
            "in_memory = 'yes': write true or false",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_a_usage_error(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "samconfig.toml").write_text(text)
    command = "up" if "default.up" in text else "start-api"
    with pytest.raises(UsageError, match=None) as caught:
        parse(tmp_path, command)
    assert message in str(caught.value)


def test_a_malformed_file_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a samconfig.toml that is not TOML in the current folder
    (tmp_path / "samconfig.toml").write_text("version = = 0.1\n")
    monkeypatch.chdir(tmp_path)
    # WHEN a command runs there
    code = main(["start-api"])
    # THEN one line says what is wrong, and the exit code is 2
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: samconfig.toml: not valid TOML: ") and err.count("\n") == 1
    # AND a --config-file that does not exist is SAM CLI's one line
    assert main(["validate", "--config-file", "nope.toml"]) == 2
    assert "Config file nope.toml does not exist" in capsys.readouterr().err


def test_on_off_flags_and_commands_without_a_section(tmp_path: Path) -> None:
    # GIVEN in_memory = true for up
    (tmp_path / "samconfig.toml").write_text(
        "version = 0.1\n[default.up.parameters]\nin_memory = true\n"
        '[default.global.parameters]\nregion = "eu-west-3"\n'
    )
    # THEN up gets it; a command the file has no section for (generate-event) is untouched
    assert parse(tmp_path, "up").in_memory is True
    assert parse(tmp_path, "generate-event").service is None
