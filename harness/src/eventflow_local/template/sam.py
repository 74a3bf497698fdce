"""Read a template as CloudFormation deploys it, for the harness and tests.

One pipeline: the document as written (``sam_doc``) -> SAM's own transform
(``template/transform.py``: ``aws-sam-translator``, local code swapped for placeholders and back)
-> one CloudFormation document (``doc``) that everything reads, with CloudFormation's parameters,
conditions and intrinsic functions (``template/cfn.py``) on top. A plain CloudFormation template
enters at the same point. ``SamTemplate`` gives the functions (``FunctionSpec``: every
``AWS::Lambda::Function``, a SAM function being one, ``template/function_spec.py``), their event
sources (``AWS::Lambda::EventSourceMapping``, whether SAM made it of an event or it was written
so), the DynamoDB tables (SimpleTables are tables by now) as ``create_table`` arguments, and the
layers. A resource whose condition is false does not exist locally either.

Three kinds of finding, never a traceback:

- ``TemplateError``: SAM's transform or CloudFormation would reject the whole template (SAM's own
  message; ``template/cfn.py``); nothing starts.
- ``refused``: one resource AWS would refuse at deploy (a zip function without Handler/Runtime, a
  code folder that does not exist, reserved environment variables, an event source mapping whose
  function does not exist), each ``"<Resource>[.<Event>]: <Property>: <AWS's reason>"``; it does
  not start, the rest does.
- ``findings()``: what is accepted but not emulated, named once at start-up: functions that cannot
  run here (S3 code, container images, non-Python runtimes), properties such as ``Tracing``, and
  every resource type the harness does not emulate (``eventflow_local/template/inventory.py``).

SAM's generated resources:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources.html
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT, function_arn
from eventflow_local.template.cfn import NO_VALUE, CfnTemplate, TemplateError
from eventflow_local.template.document import DEFAULT_TEMPLATE, load_document
from eventflow_local.template.function_spec import function_spec
from eventflow_local.template.inventory import NO_LOCAL_USE, resource_lines
from eventflow_local.template.lambda_resources import (
    lambda_function_as_sam,
    mapping_event,
    target_function_name,
)
from eventflow_local.template.lambda_rules import NOTED
from eventflow_local.template.specs import EventSpec, FunctionSpec
from eventflow_local.template.tables import create_table_kwargs
from eventflow_local.template.transform import sam_transform

__all__ = [
    "DEFAULT_TEMPLATE",
    "NO_VALUE",
    "EventSpec",
    "FunctionSpec",
    "SamTemplate",
    "TemplateError",
    "load_document",
]

SAM_FUNCTION = "AWS::Serverless::Function"

CFN_FUNCTION = "AWS::Lambda::Function"


class SamTemplate(CfnTemplate):
    def __init__(
        self,
        path: Path | str = DEFAULT_TEMPLATE,
        parameters: Mapping[str, Any] | None = None,
        region: str = DEFAULT_REGION,
        stack_name: str = "eventflow-local",
        physical_ids: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        documents: tuple[dict[str, Any], dict[str, Any]] | None = None,
    ) -> None:
        """``physical_ids``: what the resources created locally are called (logical id ->
        ``{"Ref": ..., "Arn": ..., ...}``, from ``services``); ``!Ref`` and ``!GetAtt`` of
        those resources resolve to them. A template read without them resolves a table's
        ``!Ref`` to its logical id: read it again with them once the resources exist
        (``with_physical_ids``), so that nothing depends on the order things start in.
        ``documents``: the template as written and as SAM's transform made it, when read
        already with the same parameters (the transform does not depend on physical ids)."""
        self.path = Path(path)
        self._parameter_values = dict(parameters or {})
        self.root = self.path.parent
        self._refused: dict[str, None] = {}
        self._noted: dict[str, dict[str, None]] = {}
        if documents is not None:
            written, doc = copy.deepcopy(documents)
        else:
            written = load_document(self.path)
            doc = sam_transform(
                written,
                root=self.root,
                parameters=self._parameter_values,
                region=region,
                account=LOCAL_ACCOUNT,
                stack_name=stack_name,
            )
        #: the template as written; ``doc`` is what SAM's transform makes of it
        self.sam_doc = written
        super().__init__(doc, parameters or {}, region, stack_name)
        for logical_id, attrs in (physical_ids or {}).items():
            self.attributes[logical_id] = dict(attrs)
        self._register_functions()

    def with_physical_ids(self, physical_ids: Mapping[str, Mapping[str, Any]]) -> SamTemplate:
        """The same template, read again with the physical ids of its created resources (not
        translated again)."""
        return SamTemplate(
            self.path,
            self._parameter_values,
            region=self.region,
            stack_name=self.stack_name,
            physical_ids=physical_ids,
            documents=(self.sam_doc, self.doc),
        )

    # ------------------------------------------------------------------ findings
    def refuse(self, line: str) -> None:
        self._refused.setdefault(line)

    def noted(self, prop: str, logical_id: str) -> None:
        """``prop`` of ``logical_id`` is accepted and not emulated (``lambda_rules.NOTED``)."""
        self._noted.setdefault(prop, {})[logical_id] = None

    @property
    def refused(self) -> list[str]:
        """Resources AWS would refuse at deploy: ``"<Resource>: <Property>: <reason>"``."""
        return list(self._refused)

    def findings(self) -> list[str]:
        """What is accepted but not emulated, one line each, for the start-up report (of the
        resources SAM's transform generates, those with a local use or none are not named:
        roles, permissions, deployments, stages)."""
        lines = self.notes
        every = {lid for lid, _ in self._function_ids()}
        for prop, ids in self._noted.items():
            who = "every function" if len(ids) > 1 and set(ids) == every else ", ".join(ids)
            lines.append(f"{prop} of {who}: accepted; {NOTED[prop]}")
        lines += resource_lines(
            (lid, str(res.get("Type")))
            for lid, res in self.doc["Resources"].items()
            if self.resource_enabled(lid)
            and (lid in self.sam_doc["Resources"] or res.get("Type") not in NO_LOCAL_USE)
        )
        return lines

    # ------------------------------------------------------------------ resources
    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {
            lid: res
            for lid, res in self.doc["Resources"].items()
            if res.get("Type") == rtype and self.resource_enabled(lid)
        }

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The deployed resource's properties, intrinsics resolved."""
        raw = self.doc["Resources"][logical_id].get("Properties") or {}
        return dict(self.resolve_at(logical_id, raw))

    def resolve_at(self, where: str, value: Any) -> Any:
        previous, self.where = self.where, where
        try:
            return self.resolve(value)
        finally:
            self.where = previous

    def outputs(self) -> dict[str, Any]:
        """The values of the Outputs whose condition holds."""
        out = {}
        for name, spec in (self.doc.get("Outputs") or {}).items():
            cond = spec.get("Condition")
            if cond is None or self._condition(cond):
                out[name] = self.resolve_at(f"Outputs.{name}", spec.get("Value"))
        return out

    def queues(self) -> list[str]:
        return list(self.resources_of("AWS::SQS::Queue"))

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, dict[str, Any]]:
        """Logical id -> ``AWS::DynamoDB::Table`` properties of every table the stack creates
        (SAM's transform has made SimpleTables into these)."""
        out = {}
        for lid in self.resources_of("AWS::DynamoDB::Table"):
            props = self.properties(lid)
            missing = [p for p in ("KeySchema", "AttributeDefinitions") if not props.get(p)]
            stream = props.get("StreamSpecification")
            if stream is not None and not (stream or {}).get("StreamViewType"):
                missing.append("StreamSpecification.StreamViewType")
            if missing:
                self.refuse(
                    f"{lid}: {', '.join(missing)}: required property missing "
                    "(CloudFormation: Property validation failure)"
                )
                continue
            out[lid] = props
        return out

    def create_table_kwargs(self, logical_id: str, table_name: str | None = None) -> dict[str, Any]:
        props = self.tables()[logical_id]
        return create_table_kwargs(props, table_name or props.get("TableName") or logical_id)

    def ttl_attribute(self, logical_id: str) -> str | None:
        spec = self.tables()[logical_id].get("TimeToLiveSpecification") or {}
        return spec.get("AttributeName") if spec.get("Enabled") else None

    # ------------------------------------------------------------------ functions
    def _function_ids(self) -> list[tuple[str, str]]:
        return [(lid, CFN_FUNCTION) for lid in self.resources_of(CFN_FUNCTION)]

    def _register_functions(self) -> None:
        """``!Ref Function`` is its name, ``!GetAtt Function.Arn`` its ARN."""
        for lid, _ in self._function_ids():
            raw = (self.doc["Resources"][lid].get("Properties") or {}).get("FunctionName")
            name = str(self.resolve_at(lid, raw) if raw is not None else lid)
            arn = function_arn(name, self.region)
            self.attributes[lid] = {"Ref": name, "Arn": arn}

    def functions(self) -> dict[str, FunctionSpec]:
        out: dict[str, FunctionSpec] = {}
        related = self._function_resources()
        for lid, _ in self._function_ids():
            props = lambda_function_as_sam(self.properties(lid))
            props.update(related.get(lid, {}))
            written = self.sam_doc["Resources"].get(lid) or {}
            sam = written.get("Type") == SAM_FUNCTION
            raw_layers = (self.doc["Resources"][lid].get("Properties") or {}).get("Layers")
            props["Layers"] = self._layer_entries(raw_layers, props.get("Layers"))
            spec = function_spec(self, lid, props, code_prop="CodeUri" if sam else "Code")
            if spec is not None:
                out[lid] = spec
        self._attach_mappings(out)
        return out

    def _function_resources(self) -> dict[str, dict[str, Any]]:
        """What other resources say of a function, under the function's SAM property names:
        its ``AWS::Lambda::EventInvokeConfig`` (``EventInvokeConfig``) and, from the
        ``AWS::Lambda::Alias`` SAM publishes, ``AutoPublishAlias``, ``DeploymentPreference``
        (the alias's CodeDeploy update policy) and ``ProvisionedConcurrencyConfig``."""
        by_name = {str(self.attributes[lid]["Ref"]): lid for lid, _ in self._function_ids()}
        out: dict[str, dict[str, Any]] = {}
        for lid in self.resources_of("AWS::Lambda::EventInvokeConfig"):
            props = self.properties(lid)
            target = by_name.get(target_function_name(props.get("FunctionName")))
            if target is not None:
                config = {k: v for k, v in props.items() if k not in ("FunctionName", "Qualifier")}
                out.setdefault(target, {})["EventInvokeConfig"] = config
        for lid in self.resources_of("AWS::Lambda::Alias"):
            raw = self.doc["Resources"][lid]
            props = self.properties(lid)
            target = by_name.get(target_function_name(props.get("FunctionName")))
            if target is None:
                continue
            seen = out.setdefault(target, {})
            seen["AutoPublishAlias"] = props.get("Name")
            if "CodeDeployLambdaAliasUpdate" in (raw.get("UpdatePolicy") or {}):
                seen["DeploymentPreference"] = raw["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
            if props.get("ProvisionedConcurrencyConfig") is not None:
                seen["ProvisionedConcurrencyConfig"] = props["ProvisionedConcurrencyConfig"]
        return out

    def _layer_entries(self, raw: Any, resolved: Any) -> list[Any]:
        """``Layers`` entries: a ``!Ref`` to a layer of the template is its logical id as written
        (``layer_resource`` finds the deployed one)."""
        entries = list(resolved or [])
        if isinstance(raw, list) and len(raw) == len(entries):
            for index, item in enumerate(raw):
                ref = item.get("Ref") if isinstance(item, dict) else None
                if isinstance(ref, str) and ref in self.doc["Resources"]:
                    entries[index] = self.written_id(ref)
        return entries

    def layer_resource(self, entry: str) -> tuple[str, dict[str, Any]] | None:
        """The deployed ``AWS::Lambda::LayerVersion`` (logical id, resource) a ``Layers`` entry
        names by its logical id as written; None for anything else."""
        for lid, res in self.doc["Resources"].items():
            if res.get("Type") == "AWS::Lambda::LayerVersion" and self.written_id(lid) == entry:
                return lid, res
        return None

    def _attach_mappings(self, functions: dict[str, FunctionSpec]) -> None:
        """Each ``AWS::Lambda::EventSourceMapping`` becomes an event of the function it names."""
        by_name = {str(self.attributes[lid]["Ref"]): lid for lid, _ in self._function_ids()}
        for lid in self.resources_of("AWS::Lambda::EventSourceMapping"):
            props = self.properties(lid)
            value = props.get("FunctionName")
            if not value:
                self.refuse(f"{lid}: FunctionName: required property missing")
                continue
            target = by_name.get(target_function_name(value))
            if target is None:
                self.refuse(
                    f"{lid}: FunctionName: {value}: no such function in the template "
                    "(Lambda: ResourceNotFoundException: Function not found)"
                )
                continue
            if target not in functions:
                self.note(f"{lid}: its function {target} is not started")
                continue
            event_type, event_props = mapping_event(props)
            functions[target].events.append(
                EventSpec(self._event_name(target, lid), event_type, event_props)
            )

    def _event_name(self, function: str, mapping: str) -> str:
        """A mapping SAM made of a function's event (``<Function><Event>``) keeps the event's
        name; a mapping written as such keeps its own logical id."""
        written = self.sam_doc["Resources"].get(function) or {}
        events = (written.get("Properties") or {}).get("Events") or {}
        if written.get("Type") == SAM_FUNCTION and isinstance(events, dict):
            name = mapping[len(function) :]
            if mapping.startswith(function) and name in events:
                return name
        return mapping

    def layer_dirs(self) -> list[Path]:
        dirs = []
        for lid in self.resources_of("AWS::Lambda::LayerVersion"):
            name = self.written_id(lid)
            prop = "ContentUri" if name != lid else "Content"
            uri = self.properties(lid).get("Content")
            if not isinstance(uri, str) or uri.startswith("s3://"):
                if isinstance(uri, dict):
                    uri = f"s3://{uri.get('S3Bucket')}/{uri.get('S3Key')}"
                self.note(
                    f"{name}.{prop}: {uri!r} is not a local folder; functions run without "
                    "this layer"
                )
                continue
            path = (self.root / uri).resolve()
            if not path.is_dir():
                self.refuse(
                    f"{name}: {prop}: Parameter {prop} of resource {name} refers to a file "
                    f"or folder that does not exist {path}"
                )
                continue
            dirs.append(path)
        return dirs

    def written_id(self, logical_id: str) -> str:
        """The logical id a resource has in the template as written: SAM's transform names a
        ``LayerVersion`` ``<LogicalId><hash>`` (a new version per content)."""
        if logical_id in self.sam_doc["Resources"]:
            return logical_id
        for lid, res in self.sam_doc["Resources"].items():
            if (
                isinstance(res, dict)
                and res.get("Type") == "AWS::Serverless::LayerVersion"
                and logical_id.startswith(lid)
                and len(logical_id) == len(lid) + 10
            ):
                return lid
        return logical_id
