"""Reading a template file: the one place a template's YAML (or JSON) is parsed, CloudFormation's
short forms (``!Ref``, ``!Sub`` ...) included (``cfn-flip``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cfn_tools import load_yaml

from eventflow_local.template.references import TemplateError

#: ``template.yaml`` of the working directory, as ``sam`` reads it (``--template`` names another)
DEFAULT_TEMPLATE = Path("template.yaml")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise TemplateError(f"cannot read the template {path}: {exc.strerror}") from None
    try:
        doc = _plain(load_yaml(text))
    except Exception as exc:  # the YAML parser's errors have no common base class
        raise TemplateError(f"{path.name} is not a valid template: {exc}") from None
    if not isinstance(doc, dict):
        raise TemplateError(f"{path.name} is not a valid template: not a mapping")
    return doc
