"""Read a SAM template the way SAM's transform and CloudFormation would, for the harness and tests.

``SamTemplate`` gives the functions (``FunctionSpec``: SAM functions and plain
``AWS::Lambda::Function``, Globals merged, intrinsics resolved against the local resources), their
events (SAM events and plain ``AWS::Lambda::EventSourceMapping``), the DynamoDB
tables (``AWS::DynamoDB::Table`` and ``AWS::Serverless::SimpleTable``) as ``create_table``
arguments, and the layers. Conditions are evaluated against the parameters, so a resource whose
condition is false does not exist locally either.

Three kinds of finding, never a traceback:

- ``TemplateError``: CloudFormation or SAM would reject the whole template (``eventflow_local/template/cfn.py``,
  ``eventflow_local/template/globals.py``); nothing starts.
- ``refused``: one resource AWS would refuse at deploy (a zip function without Handler/Runtime, a
  CodeUri that does not exist, reserved environment variables, an event source mapping whose
  function does not exist, a SimpleTable key of an unknown type), each
  ``"<Resource>[.<Event>]: <Property>: <AWS's reason>"``; it does not start, the rest does.
- ``findings()``: what is accepted but not emulated, named once at start-up: functions that cannot
  run here (S3 code, container images, non-Python runtimes), properties such as ``Tracing``, and
  every resource type the harness does not emulate (``eventflow_local/template/inventory.py``).

SAM function reference:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
SimpleTable: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-simpletable.html
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventflow_local.aws import DEFAULT_REGION, function_arn
from eventflow_local.template.cfn import NO_VALUE, CfnTemplate, TemplateError
from eventflow_local.template.document import DEFAULT_TEMPLATE, load_document
from eventflow_local.template.globals import apply_globals, parse_globals
from eventflow_local.template.inventory import resource_lines
from eventflow_local.template.lambda_resources import (
    lambda_function_as_sam,
    mapping_event,
    target_function_name,
)
from eventflow_local.template.lambda_rules import NOTED, RESERVED_ENV
from eventflow_local.template.specs import EventSpec, FunctionSpec
from eventflow_local.template.tables import create_table_kwargs, simple_table

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
    ) -> None:
        """``physical_ids``: what the resources created locally are called (logical id ->
        ``{"Ref": ..., "Arn": ..., ...}``, from ``services``); ``!Ref`` and ``!GetAtt`` of
        those resources resolve to them. A template read without them resolves a table's
        ``!Ref`` to its logical id: read it again with them once the resources exist
        (``with_physical_ids``), so that nothing depends on the order things start in."""
        self.path = Path(path)
        self._parameter_values = dict(parameters or {})
        self.root = self.path.parent
        doc = load_document(self.path)
        self.globals = parse_globals(doc)
        self._refused: dict[str, None] = {}
        self._noted: dict[str, dict[str, None]] = {}
        super().__init__(doc, parameters or {}, region, stack_name)
        for logical_id, attrs in (physical_ids or {}).items():
            self.attributes[logical_id] = dict(attrs)
        self._register_functions()

    def with_physical_ids(self, physical_ids: Mapping[str, Mapping[str, Any]]) -> SamTemplate:
        """The same template, read again with the physical ids of its created resources."""
        return SamTemplate(
            self.path,
            self._parameter_values,
            region=self.region,
            stack_name=self.stack_name,
            physical_ids=physical_ids,
        )

    # ------------------------------------------------------------------ findings
    def refuse(self, line: str) -> None:
        self._refused.setdefault(line)

    @property
    def refused(self) -> list[str]:
        """Resources AWS would refuse at deploy: ``"<Resource>: <Property>: <reason>"``."""
        return list(self._refused)

    def findings(self) -> list[str]:
        """What is accepted but not emulated, one line each, for the start-up report."""
        lines = self.notes
        every = {lid for lid, _ in self._function_ids()}
        for prop, ids in self._noted.items():
            who = "every function" if len(ids) > 1 and set(ids) == every else ", ".join(ids)
            lines.append(f"{prop} of {who}: accepted; {NOTED[prop]}")
        lines += resource_lines(
            (lid, str(res.get("Type")))
            for lid, res in self.doc["Resources"].items()
            if self.resource_enabled(lid)
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
        """The resource's properties, SAM Globals merged in and intrinsics resolved."""
        raw = apply_globals(self.globals, logical_id, self.doc["Resources"][logical_id])
        return dict(self.resolve_at(logical_id, raw))

    def property_of(self, logical_id: str, name: str) -> Any:
        """One property of a resource, Globals merged in by SAM's rules, resolved."""
        raw = apply_globals(self.globals, logical_id, self.doc["Resources"][logical_id])
        return self.resolve_at(logical_id, raw.get(name))

    def global_property(self, resource_type: str, name: str) -> Any:
        """A property the Globals give ``resource_type`` (all an implicit API has), resolved."""
        return self.resolve_at("Globals", self.globals.get(resource_type, {}).get(name))

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
        """Logical id -> ``AWS::DynamoDB::Table`` properties of every table the stack creates,
        SimpleTables as SAM turns them into DynamoDB tables."""
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
        for lid in self.resources_of("AWS::Serverless::SimpleTable"):
            table, error = simple_table(self.properties(lid))
            if error:
                self.refuse(f"{lid}: {error}")
            else:
                out[lid] = table
        return out

    def create_table_kwargs(self, logical_id: str, table_name: str | None = None) -> dict[str, Any]:
        props = self.tables()[logical_id]
        return create_table_kwargs(props, table_name or props.get("TableName") or logical_id)

    def ttl_attribute(self, logical_id: str) -> str | None:
        spec = self.tables()[logical_id].get("TimeToLiveSpecification") or {}
        return spec.get("AttributeName") if spec.get("Enabled") else None

    # ------------------------------------------------------------------ functions
    def _function_ids(self) -> list[tuple[str, str]]:
        return [
            (lid, rtype)
            for rtype in (SAM_FUNCTION, CFN_FUNCTION)
            for lid in self.resources_of(rtype)
        ]

    def _register_functions(self) -> None:
        """``!Ref Function`` is its name, ``!GetAtt Function.Arn`` its ARN."""
        for lid, _ in self._function_ids():
            raw = (self.doc["Resources"][lid].get("Properties") or {}).get("FunctionName")
            name = str(self.resolve_at(lid, raw) if raw is not None else lid)
            arn = function_arn(name, self.region)
            self.attributes[lid] = {"Ref": name, "Arn": arn}

    def functions(self) -> dict[str, FunctionSpec]:
        out: dict[str, FunctionSpec] = {}
        for lid, rtype in self._function_ids():
            props = self.properties(lid)
            if rtype == CFN_FUNCTION:
                props = lambda_function_as_sam(props)
            spec = self._function_spec(
                lid, props, code_prop="CodeUri" if rtype == SAM_FUNCTION else "Code"
            )
            if spec is not None:
                out[lid] = spec
        self._attach_mappings(out)
        return out

    def _function_spec(
        self, lid: str, props: dict[str, Any], code_prop: str
    ) -> FunctionSpec | None:
        if props.get("PackageType") == "Image" or "ImageUri" in props:
            self.note(f"{lid}.PackageType: container image functions are not emulated; not started")
            return None
        missing = [p for p in ("Handler", "Runtime") if not props.get(p)]
        if missing:
            self.refuse(
                f"{lid}: {', '.join(missing)}: Runtime and Handler needs to be present when "
                "PackageType is of type `Zip`"
            )
            return None
        runtime = str(props["Runtime"])
        if not runtime.startswith("python"):
            self.note(
                f"{lid}.Runtime: {runtime} is not emulated (Python runtimes only); not started"
            )
            return None
        inline = props.get("InlineCode")
        code_uri = self.root.resolve()
        if inline is None:
            uri = props.get("CodeUri", ".")
            if isinstance(uri, dict) or str(uri).startswith("s3://"):
                where = (
                    uri if isinstance(uri, str) else f"s3://{uri.get('Bucket')}/{uri.get('Key')}"
                )
                self.note(
                    f"{lid}.{code_prop}: {where} is in S3 and cannot be fetched locally; not started"
                )
                return None
            code_uri = (self.root / str(uri)).resolve()
            if not code_uri.exists():
                self.refuse(
                    f"{lid}: {code_prop}: Parameter {code_prop} of resource {lid} refers to a "
                    f"file or folder that does not exist {code_uri}"
                )
                return None
            if not code_uri.is_dir():
                self.note(
                    f"{lid}.{code_prop}: {uri} is a built package; the harness runs source "
                    "folders; not started"
                )
                return None
        numbers = {}
        for prop, default, low, high in (("Timeout", 3, 1, 900), ("MemorySize", 128, 128, 10240)):
            try:
                numbers[prop] = int(props.get(prop, default))
            except (TypeError, ValueError):
                self.refuse(f"{lid}: {prop}: {props.get(prop)!r} is not an integer")
                return None
            if not low <= numbers[prop] <= high:
                self.refuse(
                    f"{lid}: {prop}: Value '{numbers[prop]}' failed to satisfy constraint: "
                    f"Member must have value between {low} and {high}"
                )
                return None
        for prop in ("Environment", "Events"):
            if not isinstance(props.get(prop) or {}, dict):
                self.refuse(f"{lid}: {prop}: must be a map")
                return None
        variables = (props.get("Environment") or {}).get("Variables") or {}
        reserved = sorted(set(variables) & RESERVED_ENV)
        if reserved:
            self.refuse(
                f"{lid}: Environment: Lambda was unable to configure your environment variables "
                "because the environment variables you have provided contains reserved keys "
                f"that are currently not supported for modification. Reserved keys used in this "
                f"request: {', '.join(reserved)}"
            )
            return None
        events = []
        for name, event in (props.get("Events") or {}).items():
            if not isinstance(event, dict) or not event.get("Type"):
                self.refuse(f"{lid}.{name}: Type: Event with id [{name}] is invalid. Missing Type")
                continue
            event_props = dict(event.get("Properties") or {})
            if event["Type"] == "Api":
                absent = [p for p in ("Path", "Method") if not event_props.get(p)]
                if absent:
                    self.refuse(
                        f"{lid}.{name}: {', '.join(absent)}: Event with id [{name}] is invalid. "
                        f"Missing required property '{absent[0]}'."
                    )
                    continue
            events.append(EventSpec(name, str(event["Type"]), event_props))
        for prop in NOTED:
            if props.get(prop) is not None:
                self._noted.setdefault(prop, {})[lid] = None
        return FunctionSpec(
            logical_id=lid,
            code_uri=code_uri,
            handler=str(props["Handler"]),
            runtime=runtime,
            timeout=numbers["Timeout"],
            memory_size=numbers["MemorySize"],
            environment={k: ("" if v is None else str(v)) for k, v in variables.items()},
            events=events,
            properties=props,
            inline_code=None if inline is None else str(inline),
            layers=[str(layer) for layer in props.get("Layers") or []],
        )

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
            functions[target].events.append(EventSpec(lid, event_type, event_props))

    def layer_dirs(self) -> list[Path]:
        dirs = []
        for lid in self.resources_of("AWS::Serverless::LayerVersion"):
            uri = self.properties(lid).get("ContentUri")
            if not isinstance(uri, str) or uri.startswith("s3://"):
                self.note(
                    f"{lid}.ContentUri: {uri!r} is not a local folder; functions run without "
                    "this layer"
                )
                continue
            path = (self.root / uri).resolve()
            if not path.is_dir():
                self.refuse(
                    f"{lid}: ContentUri: Parameter ContentUri of resource {lid} refers to a file "
                    f"or folder that does not exist {path}"
                )
                continue
            dirs.append(path)
        return dirs
