"""SAM CLI's configuration file, ``samconfig.toml`` (or ``.yaml`` / ``.yml``): the default values
of a command's flags, so that ``eventflow-local start-api`` in a SAM project runs with the port,
parameters and region the project already keeps for ``sam local start-api``.

The format is SAM CLI's ("AWS SAM CLI configuration file",
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-config.html)::

    version = 0.1
    [default.global.parameters]            # every command of environment "default"
    region = "eu-west-1"
    [default.local_start_api.parameters]   # `start-api`
    port = 3001
    parameter_overrides = "Stage=dev Table=t"
    [prod.local_start_api.parameters]      # --config-env prod
    port = 8080

- The file: ``--config-file PATH`` (relative to the folder below), else ``samconfig.toml``, else
  ``samconfig.yaml`` / ``samconfig.yml`` (``version: 0.1`` then ``env: {command: {parameters:
  {...}}}``), in the template's folder when ``-t`` is given, else in the current folder (as
  SAM CLI: the file is relative to the template). ``--config-env NAME`` picks the environment,
  ``default`` by default.
- The sections are SAM CLI's command names with ``_``: ``local_invoke`` (our ``invoke``),
  ``local_start_api`` (``start-api``), ``local_start_lambda`` (``start-lambda``), ``validate``.
  ``up`` has no SAM CLI command: its section is ``up`` (``[default.up.parameters]``), our own.
  ``global`` applies to each of them; a command's section wins over ``global``.
- A key is a flag's long name with ``_`` for ``-`` (``parameter_overrides`` for
  ``--parameter-overrides``, ``template_file``, ``env_vars``, ``port``, ``host``, ``region``, ...);
  a flag that takes several values takes a space-separated string or a TOML/YAML array;
  ``parameter_overrides`` takes the command line's forms (``"A=1 B='x y'"`` or
  ``ParameterKey=A,ParameterValue=1``, as a string or an array); an on/off flag takes ``true``.
  A relative ``template_file`` is read from the configuration file's folder.
- Precedence, as SAM CLI's: a flag on the command line, then the command's section, then
  ``global``, then the flag's own default. A flag given on the command line replaces the file's
  value whole (``--parameter-overrides`` on the line replaces the file's overrides).
- A key the command does not know is one warning line and ignored: SAM CLI ignores it silently
  (its values are click's ``default_map``), which hides a typo; a ``global`` key other commands
  use is ignored without a word. A file that cannot be read (not TOML/YAML, no ``version``, a
  section that is not a table, a value the flag refuses) is one line and exit 2, as SAM CLI's
  "Error reading configuration"; so is a ``--config-file`` that does not exist.
"""

from __future__ import annotations

import argparse
import shlex
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eventflow_local.cli.args import UsageError

#: our command -> its section of the file (SAM CLI's command name, ``_`` for ``-`` and spaces)
SECTIONS = {
    "invoke": "local_invoke",
    "start-api": "local_start_api",
    "start-lambda": "local_start_lambda",
    "validate": "validate",
    "up": "up",
}
DEFAULT_ENV = "default"
FILE_NAMES = ("samconfig.toml", "samconfig.yaml", "samconfig.yml")
_TEMPLATE_FLAGS = ("-t", "--template", "--template-file")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-file",
        default=None,
        metavar="PATH",
        help="SAM CLI configuration file (default: samconfig.toml, .yaml or .yml beside the "
        "template)",
    )
    parser.add_argument(
        "--config-env",
        default=None,
        metavar="NAME",
        help="environment of the configuration file (default: default)",
    )


def _flag_value(argv: Sequence[str], names: Sequence[str]) -> str | None:
    """The last value ``argv`` gives one of the flags ``names`` (``--x v`` or ``--x=v``)."""
    found = None
    for i, token in enumerate(argv):
        if token == "--":
            break
        for name in names:
            if token == name and i + 1 < len(argv):
                found = argv[i + 1]
            elif token.startswith(name + "=") and name.startswith("--"):
                found = token[len(name) + 1 :]
    return found


def find_file(folder: Path, given: str | None) -> Path | None:
    if given:
        path = Path(given).expanduser()
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            raise UsageError(f"Config file {given} does not exist or could not be read!")
        return path
    return next((folder / n for n in FILE_NAMES if (folder / n).is_file()), None)


def load(path: Path) -> dict[str, Any]:
    """The file as a mapping; UsageError (one line) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path.name}: cannot be read: {exc}") from None
    try:
        if path.suffix == ".toml":
            doc: Any = tomllib.loads(text)
        else:
            import yaml

            doc = yaml.safe_load(text) or {}
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError
        kind = "TOML" if path.suffix == ".toml" else "YAML"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"{path.name}: not valid {kind}: {first}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path.name}: not a mapping of environments")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int | float):
        raise UsageError(f"{path.name}: 'version' key is not present or is in unrecognized format")
    return doc


def _parameters(doc: Mapping[str, Any], env: str, section: str, name: str) -> dict[str, Any]:
    table = doc.get(env, {}).get(section, {}) if isinstance(doc.get(env), dict) else {}
    if not isinstance(table, dict):
        raise UsageError(f"{name}: [{env}.{section}] is not a table")
    params = table.get("parameters", {})
    if not isinstance(params, dict):
        raise UsageError(f"{name}: [{env}.{section}.parameters] is not a table")
    return params


def resolve(
    doc: Mapping[str, Any], env: str, section: str, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(global values, the command's values)`` of environment ``env``."""
    if env != "version" and env in doc and not isinstance(doc[env], dict):
        raise UsageError(f"{name}: [{env}] is not a table")
    return _parameters(doc, env, "global", name), _parameters(doc, env, section, name)


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Each optional flag by its file key: ``--parameter-overrides`` -> ``parameter_overrides``."""
    out: dict[str, argparse.Action] = {}
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "config_file", "config_env"):
            continue
        for flag in action.option_strings:
            if flag.startswith("--"):
                out.setdefault(flag[2:].replace("-", "_"), action)
        out.setdefault(action.dest, action)
    return out


def _convert(action: argparse.Action, key: str, value: Any, where: str) -> Any:
    """The file's value as the parsed flag would hold it; UsageError when the flag refuses it."""
    if action.nargs == 0:  # store_true and the like
        if not isinstance(value, bool):
            raise UsageError(f"{where}: {key} = {value!r}: write true or false")
        return action.const if value else action.default
    many = action.nargs in ("+", "*") or isinstance(
        action, argparse._AppendAction | argparse._ExtendAction
    )
    if many:
        if isinstance(value, str):
            items = [value] if action.dest == "parameter_overrides" else shlex.split(value)
        elif isinstance(value, list):
            items = [str(v) for v in value]
        else:
            raise UsageError(f"{where}: {key} = {value!r}: write a string or a list")
        return [_one(action, key, item, where) for item in items]
    if isinstance(value, dict | list):
        raise UsageError(f"{where}: {key} takes one value, not {value!r}")
    return _one(action, key, value, where)


def _one(action: argparse.Action, key: str, value: Any, where: str) -> Any:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        converted = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise UsageError(f"{where}: {key} = {value!r}: {exc or 'refused'}") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise UsageError(f"{where}: {key} = {value!r}: one of {choices}")
    return converted


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def prepare(parser: argparse.ArgumentParser) -> None:
    """``--config-file`` / ``--config-env`` on each command that reads the file."""
    for command, sub in _subparsers(parser).items():
        if command in SECTIONS and "config_file" not in {a.dest for a in sub._actions}:
            add_config_options(sub)


def parse_args(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    warn: Callable[[str], None],
    cwd: Path | None = None,
) -> argparse.Namespace:
    """``parser.parse_args(argv)`` with the configuration file's values as the defaults of the
    flags the command line leaves out."""
    prepare(parser)
    subs = _subparsers(parser)
    command = next((t for t in argv if not t.startswith("-")), None)
    if command not in SECTIONS or command not in subs:
        return parser.parse_args(argv)
    sub = subs[command]
    template = _flag_value(argv, _TEMPLATE_FLAGS)
    folder = Path(template).expanduser().parent if template else (cwd or Path.cwd())
    path = find_file(folder, _flag_value(argv, ("--config-file",)))
    if path is None:
        return parser.parse_args(argv)
    doc = load(path)
    given_env = _flag_value(argv, ("--config-env",))
    env = given_env or DEFAULT_ENV
    if given_env and given_env not in doc:
        warn(f"{path.name} has no environment {given_env!r}: none of its values are used")
    common, own = resolve(doc, env, SECTIONS[command], path.name)
    actions = _actions(sub)
    values: dict[str, tuple[argparse.Action, Any]] = {}
    for scope, table in (("global", common), (SECTIONS[command], own)):
        where = f"{path.name} [{env}.{scope}.parameters]"
        for key, value in table.items():
            action = actions.get(key)
            if action is None:
                if scope != "global":
                    warn(f"{where}: {key} is not an option of {command}: ignored")
                continue
            converted = _convert(action, key, value, where)
            if action.dest == "template" and not Path(converted).is_absolute():
                converted = path.parent / converted
            values[action.dest] = (action, converted)
    markers: dict[str, object] = {}
    saved: dict[str, Any] = {}
    for dest, (action, _) in values.items():
        saved[dest], markers[dest] = action.default, ([] if _is_many(action) else object())
        action.default = markers[dest]
    try:
        args = parser.parse_args(argv)
    finally:
        for dest, (action, _) in values.items():
            action.default = saved[dest]
    for dest, (_, value) in values.items():
        if getattr(args, dest, None) is markers[dest]:
            setattr(args, dest, value)
    return args


def _is_many(action: argparse.Action) -> bool:
    return isinstance(action, argparse._AppendAction | argparse._ExtendAction)
