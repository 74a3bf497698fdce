"""Small templates written to a test's folder, and what SAM's own translator makes of them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from eventflow_local.template.sam import SamTemplate

ROOT = Path(__file__).resolve().parents[2]
HEADER = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"


def write(tmp_path: Path, body: str, *, folders: tuple[str, ...] = ("src",)) -> Path:
    for folder in folders:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def load(tmp_path: Path, body: str, **parameters: Any) -> SamTemplate:
    return SamTemplate(write(tmp_path, body), parameters)


class _NoPolicies:
    def get_managed_policy_map(self) -> dict[str, str]:
        return {}


def sam_transform(path: Path) -> dict[str, Any]:
    """What SAM's translator turns the template into (what CloudFormation receives), with local
    CodeUris packaged as `sam package` would."""

    def packaged(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: "s3://bucket/code.zip" if k == "CodeUri" else packaged(v)
                for k, v in node.items()
            }
        return [packaged(v) for v in node] if isinstance(node, list) else node

    return dict(transform(packaged(yaml_parse(path.read_text())), {}, _NoPolicies()))
