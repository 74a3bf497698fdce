"""What an EventBridge rule's target receives: ``Input``, ``InputPath`` or ``InputTransformer``.

AWS::Events::Rule Target
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-events-rule-target.html):
``Input`` is constant JSON text delivered instead of the event; ``InputPath`` a JSONPath selecting
part of the event; ``InputTransformer`` (``InputPathsMap`` + ``InputTemplate``) fills the template's
``<name>`` placeholders ("Amazon EventBridge input transformation",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html):

- the paths take dot notation, dashes, underscores, array indices and ``*``;
- the predefined ``<aws.events.rule-arn>``, ``<aws.events.rule-name>``,
  ``<aws.events.event.ingestion-time>``, ``<aws.events.event>`` (the event without ``detail``) and
  ``<aws.events.event.json>`` (the whole event);
- in a JSON template a placeholder outside quotes becomes the value as JSON (a string quoted:
  ``{"state": <state>}`` gives ``{"state": "RUNNING"}``), inside quotes its text (escaped); in a
  text template, the text; a path the event does not have gives ``null`` (or nothing in text);
- a result that is not JSON reaches a Lambda function as a JSON string.

None given: the event itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]")
_MISSING = object()


class InputError(ValueError):
    """A target's input configuration EventBridge would refuse."""


def json_path(document: Any, path: str) -> Any:
    """The value at ``path`` (``$``, ``$.a.b``, ``$.a[0]``, ``$.a.*``); ``_MISSING`` if absent."""
    path = str(path).strip()
    if not path.startswith("$"):
        raise InputError(f"{path}: a JSON path starts with $")
    rest, values, wild = path[1:], [document], False
    while rest:
        match = _STEP.match(rest)
        if match is None:
            raise InputError(f"{path}: not a JSON path EventBridge reads")
        rest = rest[match.end() :]
        key, index = match.group(1), match.group(2)
        found: list[Any] = []
        for value in values:
            if key == "*" or index == "*":
                wild = True
                if isinstance(value, dict):
                    found.extend(value.values())
                elif isinstance(value, list):
                    found.extend(value)
            elif key is not None and isinstance(value, dict) and key in value:
                found.append(value[key])
            elif index is not None and isinstance(value, list) and int(index) < len(value):
                found.append(value[int(index)])
        values = found
    if wild:
        return values
    return values[0] if values else _MISSING


def check_target_input(target: Mapping[str, Any]) -> str | None:
    """Why EventBridge refuses the target's input configuration, or None."""
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        return f"{' and '.join(given)}: a target takes at most one of them"
    if "Input" in given:
        try:
            json.loads(str(target["Input"]))
        except ValueError:
            return "Input: must be valid JSON text"
    transformer = target.get("InputTransformer")
    if transformer is not None:
        if not isinstance(transformer, dict) or not transformer.get("InputTemplate"):
            return "InputTransformer.InputTemplate: required property missing"
        for name in transformer.get("InputPathsMap") or {}:
            if str(name).lower().startswith("aws."):
                return f"InputTransformer.InputPathsMap: {name}: keys cannot start with AWS."
    return None


def target_input(
    target: Mapping[str, Any], event: dict[str, Any], rule_arn: str, rule_name: str
) -> Any:
    """What the target receives for ``event`` (checked first with ``check_target_input``)."""
    if target.get("Input") is not None:
        return json.loads(str(target["Input"]))
    if target.get("InputPath") is not None:
        found = json_path(event, str(target["InputPath"]))
        return None if found is _MISSING else found
    transformer = target.get("InputTransformer")
    if transformer is None:
        return event
    values: dict[str, Any] = {
        name: json_path(event, str(path))
        for name, path in (transformer.get("InputPathsMap") or {}).items()
    }
    values.update(
        {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": event.get("time"),
            "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
            "aws.events.event.json": event,
        }
    )
    text = fill_template(str(transformer["InputTemplate"]), values)
    try:
        return json.loads(text)
    except ValueError:
        return text  # a text template: the function receives it as a JSON string


def fill_template(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with each known ``<name>`` replaced as EventBridge does (see the module)."""
    is_json = template.strip()[:1] in ("{", "[", '"')
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, i)
            if match and match.group(1) in values:
                out.append(_render(values[match.group(1)], in_string, is_json))
                i = match.end()
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _render(value: Any, in_string: bool, is_json: bool) -> str:
    if value is _MISSING:
        return "null" if is_json and not in_string else ""
    text = value if isinstance(value, str) else json.dumps(value)
    if in_string:
        return json.dumps(text)[1:-1]
    if is_json:
        return json.dumps(value)
    return text
