"""Read template.yaml the way CloudFormation + SAM would, for the harness and the tests.

``SamTemplate`` gives the functions (with Globals merged and intrinsics resolved against local
resources), their events (Api, MSK, SelfManagedKafka, DynamoDB, Schedule), the DynamoDB tables as
``create_table`` arguments, and the SQS queues. Conditions are evaluated against the parameters,
so a resource whose condition is false does not exist locally either.

Supported intrinsics: Ref, Fn::GetAtt, Fn::Sub (both forms), Fn::Join, Fn::Split, Fn::Select,
Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition. Pseudo parameters: AWS::Region,
AWS::AccountId, AWS::Partition, AWS::URLSuffix, AWS::StackName, AWS::NoValue.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfn_tools import load_yaml

ROOT = Path(__file__).resolve().parent.parent
#: ``template.yaml`` of the working directory, as ``sam`` reads it (``--template`` names another)
DEFAULT_TEMPLATE = Path("template.yaml")
LOCAL_ACCOUNT = "123456789012"


class TemplateError(ValueError):
    """The template uses something the harness cannot resolve."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass
class EventSpec:
    name: str
    type: str
    properties: dict[str, Any]


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    events: list[EventSpec]
    properties: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def module_file(self) -> Path:
        module = self.handler.rsplit(".", 1)[0]
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def events_of(self, *types: str) -> list[EventSpec]:
        return [e for e in self.events if e.type in types]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    event: str
    auth: dict[str, Any] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{([^}/+]+)\+\}", r"(?P<\1>.+)", self.path)
        regex = re.sub(r"\{([^}/]+)\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class SamTemplate:
    def __init__(
        self,
        path: Path | str = DEFAULT_TEMPLATE,
        parameters: Mapping[str, Any] | None = None,
        region: str = "us-east-1",
        stack_name: str = "eventflow-local",
    ) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.doc: dict[str, Any] = _plain(load_yaml(self.path.read_text()))
        self.region = region
        self.stack_name = stack_name
        self.parameters = self._parameters(parameters or {})
        self.conditions: dict[str, bool] = {}
        for name in self.doc.get("Conditions", {}):
            self._condition(name)
        #: attributes of local resources: logical id -> {"Ref": ..., "Arn": ..., ...}
        self.attributes: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ parameters & conditions
    def _parameters(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        declared = self.doc.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
        for name, spec in declared.items():
            if name in overrides:
                value = overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"template parameter {name} has no default: give it a value")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [] if value == "" else [v.strip() for v in value.split(",")]
            allowed = spec.get("AllowedValues")
            if allowed and value not in allowed:
                raise TemplateError(f"template parameter {name}={value!r} is not one of {allowed}")
            params[name] = value
        return params

    def _condition(self, name: str) -> bool:
        if name not in self.conditions:
            spec = self.doc.get("Conditions", {}).get(name)
            if spec is None:
                raise TemplateError(f"unknown condition {name}")
            self.conditions[name] = bool(self.resolve(spec))
        return self.conditions[name]

    def resource_enabled(self, logical_id: str) -> bool:
        cond = self.doc["Resources"][logical_id].get("Condition")
        return True if cond is None else self._condition(cond)

    # ------------------------------------------------------------------ intrinsic functions
    def pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": NO_VALUE,
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.attributes and "Ref" in self.attributes[name]:
            return self.attributes[name]["Ref"]
        if name in self.doc.get("Resources", {}):
            return name  # not created locally (yet): its logical id stands for it
        raise TemplateError(f"Ref to unknown name {name}")

    def get_att(self, logical_id: str, attr: str) -> Any:
        attrs = self.attributes.get(logical_id, {})
        if attr in attrs:
            return attrs[attr]
        rtype = self.doc.get("Resources", {}).get(logical_id, {}).get("Type", "")
        if rtype == "AWS::DynamoDB::Table" and attr == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{LOCAL_ACCOUNT}:table/{self.ref(logical_id)}"
        if rtype == "AWS::SQS::Queue" and attr == "Arn":
            return f"arn:aws:sqs:{self.region}:{LOCAL_ACCOUNT}:{logical_id}"
        if rtype == "AWS::SQS::Queue" and attr == "QueueName":
            return logical_id
        return f"{logical_id}.{attr}"

    def _sub(self, text: str, extra: Mapping[str, Any]) -> str:
        def repl(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in extra:
                return str(extra[token])
            if "." in token:
                logical_id, attr = token.split(".", 1)
                return str(self.get_att(logical_id, attr))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(parts[0], parts[1])
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self._sub(arg, {})
                text, variables = arg
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.resolve(items))
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::Select":
                index, items = arg
                items = self.resolve(items)
                index = int(self.resolve(index))
                if index >= len(items):
                    raise TemplateError(f"Fn::Select index {index} out of range of {items}")
                return items[index]
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self._condition(cond) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if key == "Condition":
                return self._condition(arg)
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic {key} is not supported by the local harness")
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    # ------------------------------------------------------------------ resources
    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {
            lid: res
            for lid, res in self.doc.get("Resources", {}).items()
            if res.get("Type") == rtype and self.resource_enabled(lid)
        }

    def tables(self) -> dict[str, dict[str, Any]]:
        """Logical id -> resolved properties of every enabled AWS::DynamoDB::Table."""
        return {
            lid: self.resolve(res.get("Properties", {}))
            for lid, res in self.resources_of("AWS::DynamoDB::Table").items()
        }

    def queues(self) -> list[str]:
        return list(self.resources_of("AWS::SQS::Queue"))

    def create_table_kwargs(self, logical_id: str, table_name: str | None = None) -> dict[str, Any]:
        props = self.tables()[logical_id]
        kwargs: dict[str, Any] = {
            "TableName": table_name or props.get("TableName") or logical_id,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("LocalSecondaryIndexes"):
            kwargs["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
        stream = props.get("StreamSpecification")
        if stream:
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        return kwargs

    def ttl_attribute(self, logical_id: str) -> str | None:
        spec = self.tables()[logical_id].get("TimeToLiveSpecification") or {}
        return spec.get("AttributeName") if spec.get("Enabled") else None

    def globals_function(self) -> dict[str, Any]:
        return self.doc.get("Globals", {}).get("Function", {})

    def functions(self) -> dict[str, FunctionSpec]:
        out = {}
        for lid, res in self.resources_of("AWS::Serverless::Function").items():
            merged = _deep_merge(self.globals_function(), res.get("Properties", {}))
            props = self.resolve(merged)
            env = {
                k: ("" if v is None else str(v))
                for k, v in props.get("Environment", {}).get("Variables", {}).items()
            }
            events = [
                EventSpec(name, ev["Type"], ev.get("Properties", {}))
                for name, ev in (props.get("Events") or {}).items()
            ]
            out[lid] = FunctionSpec(
                logical_id=lid,
                code_uri=(self.root / props["CodeUri"]).resolve(),
                handler=props["Handler"],
                runtime=props.get("Runtime", ""),
                timeout=int(props.get("Timeout", 3)),
                memory_size=int(props.get("MemorySize", 128)),
                environment=env,
                events=events,
                properties=props,
            )
        return out

    def routes(self) -> list[Route]:
        routes = []
        for fn in self.functions().values():
            for ev in fn.events_of("Api"):
                routes.append(
                    Route(
                        method=str(ev.properties["Method"]).upper(),
                        path=ev.properties["Path"],
                        function=fn.logical_id,
                        event=ev.name,
                        auth=ev.properties.get("Auth"),
                    )
                )
        return routes

    def layer_dirs(self) -> list[Path]:
        return [
            (self.root / self.resolve(res["Properties"]["ContentUri"])).resolve()
            for res in self.resources_of("AWS::Serverless::LayerVersion").values()
        ]
