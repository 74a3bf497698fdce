"""The whole-template check CloudFormation makes before anything is created: every ``Ref``,
``Fn::GetAtt``, ``Fn::Sub`` variable and ``DependsOn`` names a parameter, a pseudo parameter,
a resource, or a resource SAM generates."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

#: logical ids SAM generates for implicit resources a template may reference
SAM_IMPLICIT = ("ServerlessRestApi", "ServerlessHttpApi", "ServerlessDeploymentApplication")
#: a ``${Name}`` or ``${Name.Attribute}`` variable of ``Fn::Sub``
SUB_VAR = re.compile(r"\$\{([^}]+)\}")


class TemplateError(ValueError):
    """CloudFormation (or SAM's transform) would reject the whole template."""


def sam_generated(doc: Mapping[str, Any], name: str) -> bool:
    """A resource SAM's transform creates: ``ServerlessRestApi``, ``<Function>Role``,
    ``<Api>ProdStage``, ``<Function>.Alias`` ... (prefixed with a SAM resource's logical id)."""
    if name in SAM_IMPLICIT:
        return True
    return any(
        name.startswith(lid) and str(res.get("Type", "")).startswith("AWS::Serverless::")
        for lid, res in (doc.get("Resources") or {}).items()
        if isinstance(res, dict)
    )


def _references(node: Any) -> Iterator[str]:
    """Every name a Ref, GetAtt or Sub in ``node`` points at."""
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" and isinstance(arg, str):
            yield arg
            return
        if key == "Fn::GetAtt":
            target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
            if isinstance(target, str):
                yield target
            if isinstance(arg, list):
                yield from _references(arg[1:])
            return
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] or {})
            yield from _references(list(variables.values()))
            for token in SUB_VAR.findall(text if isinstance(text, str) else ""):
                if not token.startswith("!") and token not in variables:
                    yield token if token.startswith("AWS::") else token.split(".", 1)[0]
            return
    for value in node.values():
        yield from _references(value)


def check_references(doc: Mapping[str, Any]) -> None:
    """Reject the template as CloudFormation does when a reference names nothing."""
    resources = doc.get("Resources") or {}
    declared = set(doc.get("Parameters") or {}) | set(resources)
    for section in ("Resources", "Outputs", "Globals", "Conditions"):
        body = doc.get(section) or {}
        names = sorted(
            {
                n
                for n in _references(body)
                if not n.startswith("AWS::") and n not in declared and not sam_generated(doc, n)
            }
        )
        if names:
            raise TemplateError(
                f"Template format error: Unresolved resource dependencies {names} in the "
                f"{section} block of the template"
            )
    for lid, res in resources.items():
        if lid.startswith("Fn::ForEach"):
            raise TemplateError(
                f"Resources.{lid}: Fn::ForEach (AWS::LanguageExtensions transform) is not "
                "supported by the local harness"
            )
        if not isinstance(res, dict) or "Type" not in res:
            raise TemplateError(
                f"Template format error: [/Resources/{lid}] Every Resources object must "
                "contain a Type member."
            )
        depends = res.get("DependsOn") or []
        names = [depends] if isinstance(depends, str) else depends
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TemplateError(
                f"Template format error: [/Resources/{lid}/DependsOn] DependsOn must be a "
                "string or a list of strings"
            )
        for name in names:
            if name not in resources:
                raise TemplateError(
                    f"Template format error: Unresolved resource dependencies [{name}] in the "
                    "Resources block of the template"
                )
