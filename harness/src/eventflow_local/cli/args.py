"""What a user types on the command line, read the way SAM CLI reads it.

Users come to the harness from ``sam local invoke`` and ``sam local start-api``; the same flags
must mean the same thing here, and a mistake in them must come back as one clear line (the CLI
turns ``UsageError`` into exit code 2), never a traceback.

- ``--parameter-overrides`` takes ``Key=Value`` pairs or CloudFormation's
  ``ParameterKey=Key,ParameterValue=Value`` form, several per argument (space separated, values
  may be quoted) and several arguments after one flag, as SAM CLI's ``CfnParameterOverridesType``
  does (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-local-invoke.html).
- ``--env-vars`` is a JSON file ``{"FunctionLogicalId": {"VAR": "value"}, "Parameters":
  {"VAR": "value"}}``: ``Parameters`` applies to every function, a function's own object wins
  over it, and only variables the function declares in the template's ``Environment`` are
  overridden — SAM CLI ignores the others
  (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-using-invoke.html#serverless-sam-cli-using-invoke-environment-file;
  aws-sam-cli ``EnvironmentVariables.resolve`` iterates over the template's variables only).
- ``--event`` / ``-e`` is a JSON file, ``-`` reads standard input, no event is ``{}``.
- The function is named by its logical id or its ``FunctionName``, and may be left out when the
  template has one function, as in ``sam local invoke``. The template is read as written before
  anything starts, so an unknown function or parameter is reported in a moment, not after the
  broker and DynamoDB have started.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from eventflow_local.errors import UsageError
from eventflow_local.template.sam import DEFAULT_TEMPLATE, TemplateError, load_document

_KEY = re.compile(r"^[A-Za-z0-9]+$")
_CFN_FORM = re.compile(r"^ParameterKey=(?P<key>[^,]*),ParameterValue=(?P<value>.*)$", re.DOTALL)
_EXAMPLES = "'Key=Value Key2=Value2' or 'ParameterKey=Key,ParameterValue=Value'"


def parse_parameter_overrides(arguments: Iterable[str]) -> dict[str, str]:
    """``["A=1 B='x y'", "ParameterKey=C,ParameterValue=2"]`` -> ``{"A": "1", "B": "x y", "C": "2"}``.

    Later values win over earlier ones, as repeated flags do in SAM CLI.
    """
    out: dict[str, str] = {}
    for argument in arguments:
        try:
            tokens = shlex.split(argument)
        except ValueError as exc:
            raise UsageError(f"--parameter-overrides {argument!r}: {exc}") from None
        for token in tokens:
            match = _CFN_FORM.match(token)
            if match:
                key, value = match["key"], match["value"]
            else:
                key, sep, value = token.partition("=")
                if not sep:
                    raise UsageError(
                        f"--parameter-overrides: {token!r} is not a parameter override; "
                        f"write {_EXAMPLES}"
                    )
            if not _KEY.match(key):
                raise UsageError(
                    f"--parameter-overrides: {key!r} is not a parameter name (letters and digits)"
                )
            out[key] = value
    return out


def split_function_from_overrides(
    function: str | None, overrides: list[str]
) -> tuple[str | None, list[str]]:
    """``invoke --parameter-overrides A=1 MyFunction`` lets the flag swallow the function's id (the
    flag takes every following argument, as in SAM CLI); give it back when it is not an override."""
    if function is None and overrides and "=" not in overrides[-1]:
        return overrides[-1], overrides[:-1]
    return function, overrides


def read_json_file(path: str, what: str, stdin: IO[str] | None = None) -> Any:
    """The JSON in ``path`` (``-`` = ``stdin``); a ``UsageError`` naming the file and the problem."""
    where = "standard input" if path == "-" else path
    try:
        if path == "-":
            if stdin is None:
                raise UsageError(f"{what}: no standard input to read")
            text = stdin.read()
        else:
            text = Path(path).read_text()
    except FileNotFoundError:
        raise UsageError(f"{what} {where}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {where}: is a directory, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {where}: cannot read it: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{what} {where}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def read_event(path: str | None, stdin: IO[str] | None = None) -> Any:
    """The event of ``invoke``: the file's JSON, stdin's for ``-``, ``{}`` without ``--event``."""
    if path is None:
        return {}
    return read_json_file(path, "event", stdin)


EnvOverrides = dict[str, dict[str, str]]


def _stringify(value: Any) -> str:
    """Lambda's variables are strings; SAM CLI writes booleans as ``true``/``false`` and turns
    objects, lists and null into ``""``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def read_env_vars(path: str | None) -> EnvOverrides:
    """The ``--env-vars`` file as ``{"Parameters" | FunctionLogicalId: {VAR: "value"}}``."""
    if path is None:
        return {}
    doc = read_json_file(path, "env-vars file")
    if not isinstance(doc, dict):
        raise UsageError(
            f'env-vars file {path}: expected an object like {{"MyFunction": {{"VAR": "value"}}, '
            f'"Parameters": {{"VAR": "value"}}}}, got {type(doc).__name__}'
        )
    out: EnvOverrides = {}
    for name, variables in doc.items():
        if not isinstance(variables, dict):
            raise UsageError(
                f"env-vars file {path}: {name!r} must map variable names to values, "
                f"got {type(variables).__name__}"
            )
        out[str(name)] = {str(k): _stringify(v) for k, v in variables.items()}
    return out


def function_overrides(
    overrides: Mapping[str, Mapping[str, str]],
    logical_id: str,
    declared: Iterable[str],
    function_name: str | None = None,
) -> dict[str, str]:
    """The variables of ``logical_id`` the env-vars file changes: ``Parameters`` first, then the
    function's own object (by logical id, else by its ``FunctionName``), kept only where the
    template declares the variable."""
    merged = dict(overrides.get("Parameters", {}))
    own = overrides.get(logical_id) or (overrides.get(function_name) if function_name else None)
    merged.update(own or {})
    names = set(declared)
    return {k: v for k, v in merged.items() if k in names}


def unknown_env_functions(overrides: Mapping[str, Any], functions: Iterable[str]) -> list[str]:
    """Keys of the env-vars file that name no function of the template (SAM CLI ignores them
    silently; the harness says so once, since a typo there is otherwise invisible)."""
    known = set(functions) | {"Parameters"}
    return sorted(set(overrides) - known)


# ---------------------------------------------------------------------- the template
def template_doc(path: Path) -> dict[str, Any]:
    """The raw template, or a ``UsageError`` a user understands."""
    if not path.is_file():
        if path == DEFAULT_TEMPLATE:
            raise UsageError(
                f"no template.yaml in {Path.cwd()}: run in your template's folder or give -t PATH"
            )
        raise UsageError(f"template {path}: no such file")
    try:
        doc = load_document(path)  # the one reader of template files (template/sam.py)
    except TemplateError as exc:
        raise UsageError(f"template {path}: {exc}".splitlines()[0]) from None
    if not isinstance(doc.get("Resources"), dict):
        raise UsageError(f"template {path}: no Resources section")
    return dict(doc)


def template_functions(doc: Mapping[str, Any]) -> dict[str, str]:
    """``{logical id: FunctionName or logical id}`` of the template's functions."""
    out = {}
    for lid, res in doc["Resources"].items():
        if isinstance(res, dict) and res.get("Type") in (
            "AWS::Serverless::Function",
            "AWS::Lambda::Function",
        ):
            name = (res.get("Properties") or {}).get("FunctionName")
            out[str(lid)] = name if isinstance(name, str) else str(lid)
    return out


def check_parameters(doc: Mapping[str, Any], overrides: Mapping[str, str], path: Path) -> None:
    declared = set(doc.get("Parameters") or {})
    unknown = sorted(set(overrides) - declared)
    if unknown:
        raise UsageError(
            f"--parameter-overrides: {', '.join(unknown)} is not a parameter of {path} "
            f"(parameters: {', '.join(sorted(declared)) or 'none'})"
        )


def pick_function(requested: str | None, functions: Mapping[str, str], path: Path) -> str:
    """The logical id ``requested`` names (logical id or FunctionName); the only function when
    none is named, as ``sam local invoke`` does."""
    listing = ", ".join(sorted(functions)) or "none"
    if requested is None:
        if len(functions) == 1:
            return next(iter(functions))
        raise UsageError(f"name the function to invoke: {path} has {listing}")
    if requested in functions:
        return requested
    by_name = [lid for lid, name in functions.items() if name == requested]
    if by_name:
        return by_name[0]
    raise UsageError(f"no function {requested} in {path} (functions: {listing})")


def _local_definitions(apis: list[Any], root: Path) -> str:
    """The text of the local files the APIs' definitions come from (``DefinitionUri``,
    ``AWS::Include`` locations)."""
    texts = []
    for item in apis:
        props = item.get("Properties") if isinstance(item, dict) else None
        where = [(props or {}).get("DefinitionUri")]
        where += re.findall(r'"Location": "([^"]+)"', json.dumps(item, default=str))
        for path in where:
            if isinstance(path, str) and "://" not in path and (root / path).is_file():
                texts.append((root / path).read_text(errors="replace"))
    return "\n".join(texts)


def api_functions(
    doc: Mapping[str, Any], functions: Mapping[str, str], root: Path | None = None
) -> set[str]:
    """Functions ``start-api`` serves: those with Api/HttpApi events, and those the APIs name
    (integrations of APIs written in CloudFormation or in a local definition file under
    ``root``, Lambda authorizers)."""
    out: set[str] = set()
    resources = doc["Resources"]
    for lid in functions:
        events = ((resources[lid].get("Properties") or {}).get("Events")) or {}
        if any(
            isinstance(e, dict) and e.get("Type") in ("Api", "HttpApi") for e in events.values()
        ):
            out.add(lid)
    apis = [
        res
        for res in resources.values()
        if isinstance(res, dict)
        and (
            res.get("Type") in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi")
            or str(res.get("Type")).startswith(("AWS::ApiGateway::", "AWS::ApiGatewayV2::"))
        )
    ]
    apis.append((doc.get("Globals") or {}).get("Api") or {})
    text = json.dumps(apis, default=str)
    if root is not None:
        text += _local_definitions(apis, root)
    for lid, name in functions.items():
        if f'"{lid}' in text or "${" + lid in text or f":function:{name}/" in text:
            out.add(lid)
    return out


#: the parameters by which a template is pointed at a broker (template/kafka.py fills them in)
_KAFKA_PARAMETERS = ("KafkaBootstrapServers", "KafkaAuth", "MskClusterArn")


def uses_kafka(doc: Mapping[str, Any]) -> bool:
    """True when the template, as written, names Kafka: an MSK or self-managed Kafka event, a
    parameter that points it at a broker or names a topic (``*Topic``, created on the broker), or
    a function variable whose name says Kafka (``KAFKA_BOOTSTRAP_SERVERS``, in a function or in
    ``Globals``), an event source mapping of a Kafka cluster. ``start-lambda`` starts the
    embedded broker only then."""
    parameters = [str(name) for name in doc.get("Parameters") or {}]
    if any(n in _KAFKA_PARAMETERS or n.endswith("Topic") for n in parameters):
        return True
    functions = [
        (res.get("Properties") or {})
        for res in doc["Resources"].values()
        if isinstance(res, dict)
        and res.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    ]
    functions.append(((doc.get("Globals") or {}).get("Function")) or {})
    for props in functions:
        if not isinstance(props, dict):
            continue
        events = props.get("Events") or {}
        if isinstance(events, dict) and any(
            isinstance(e, dict) and e.get("Type") in ("MSK", "SelfManagedKafka")
            for e in events.values()
        ):
            return True
        variables = ((props.get("Environment") or {}).get("Variables")) or {}
        if isinstance(variables, dict) and any("KAFKA" in str(n).upper() for n in variables):
            return True
    mappings = [
        res.get("Properties") or {}
        for res in doc["Resources"].values()
        if isinstance(res, dict) and res.get("Type") == "AWS::Lambda::EventSourceMapping"
    ]
    return any(  # a self-managed broker, or an MSK cluster's ARN (arn:aws:kafka:...)
        "SelfManagedEventSource" in props
        or ":kafka:" in json.dumps(props.get("EventSourceArn"), default=str)
        for props in mappings
        if isinstance(props, dict)
    )
