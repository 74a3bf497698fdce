"""CloudFormation's own layer of a template: parameters, conditions, mappings, intrinsic functions.

A SAM template is a CloudFormation template first. What CloudFormation checks before it creates a
single resource is checked here, so that a template CloudFormation would reject is rejected locally
too, with one ``TemplateError`` naming the place and CloudFormation's reason:

- a parameter without a value, outside its ``AllowedValues``/``AllowedPattern``/length/range, or a
  ``Number`` that is not a number ("Parameters" section reference,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html);
- a ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` variable or ``DependsOn`` naming nothing in the template
  ("Template format error: Unresolved resource dependencies"); SAM's generated resources
  (``ServerlessRestApi``, ``<Function>Role``, ``<Function>.Alias`` ...) count as declared, as SAM
  creates them (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources.html);
- ``Fn::FindInMap`` on a key the Mappings do not have ("Unable to get mapping for M::K1::K2").

Intrinsic functions (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html):
Ref, Fn::GetAtt, Fn::Sub (both forms), Fn::Join, Fn::Split, Fn::Select, Fn::If, Fn::Equals, Fn::Not,
Fn::And, Fn::Or, Condition, Fn::FindInMap (with the language extensions' DefaultValue), Fn::GetAZs,
Fn::Base64, Fn::Cidr, Fn::Length, Fn::ToJsonString, and Fn::ImportValue, which cannot be resolved
without the exporting stack: the export's name stands for its value and the place is named in the
start-up findings. Pseudo parameters: AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix,
AWS::StackName, AWS::StackId, AWS::NotificationARNs, AWS::NoValue.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.template.cfn_names import ResourceValues, Scope
from eventflow_local.template.cfn_values import values_of
from eventflow_local.template.references import SUB_VAR as _SUB_VAR
from eventflow_local.template.references import TemplateError, check_references, sam_generated


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def _is_list_type(ptype: str) -> bool:
    return ptype == "CommaDelimitedList" or ptype.startswith("List<")


def _is_condition(key: str, arg: Any) -> bool:
    """``{"Condition": name}`` names a condition; ``{"Condition": {...}}`` is one only when it
    names one in turn (an IAM statement's ``Condition`` block is a property)."""
    return key == "Condition" and (
        isinstance(arg, str) or (isinstance(arg, dict) and list(arg) == ["Condition"])
    )


class CfnTemplate:
    """Parameters, conditions, mappings and intrinsic functions of one template document."""

    #: the resource (or resource.property) being resolved, for error messages
    where: str

    def __init__(
        self,
        doc: dict[str, Any],
        parameters: Mapping[str, Any],
        region: str,
        stack_name: str,
    ) -> None:
        self.doc = doc
        self.region = region
        self.stack_name = stack_name
        #: "not emulated" findings, in order, each once
        self._notes: dict[str, None] = {}
        #: the resource (and property) being resolved, for messages
        self.where = ""
        #: attributes of local resources: logical id -> {"Ref": ..., "Arn": ..., ...}
        self.attributes: dict[str, dict[str, Any]] = {}
        #: CloudFormation's values of the other resources (cfn_values.py), once computed
        self._values_cache: dict[str, ResourceValues | None] = {}
        self._resolving: set[str] = set()
        if not isinstance(doc.get("Resources"), dict) or not doc["Resources"]:
            raise TemplateError(
                "Template format error: at least one Resources member must be defined"
            )
        check_references(doc)
        self.parameters = self._parameters(parameters)
        self.conditions: dict[str, bool] = {}
        for name in doc.get("Conditions") or {}:
            self._condition(name)

    def note(self, line: str) -> None:
        self._notes.setdefault(line)

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    # ------------------------------------------------------------------ parameters & conditions
    def _parameters(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        declared = self.doc.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"Parameters: {unknown} do not exist in the template")
        missing = [n for n in declared if n not in overrides and "Default" not in declared[n]]
        if missing:
            raise TemplateError(
                f"Parameters: {missing} must have values (give them with --param NAME=VALUE)"
            )
        for name, spec in declared.items():
            value = overrides[name] if name in overrides else spec["Default"]
            ptype = str(spec.get("Type", "String"))
            if _is_list_type(ptype) and isinstance(value, str):
                value = [] if value == "" else [v.strip() for v in value.split(",")]
            for item in value if isinstance(value, list) else [value]:
                self._check_parameter(name, spec, ptype, item)
            if ptype.startswith("AWS::SSM::Parameter::Value<") and name not in overrides:
                self.note(
                    f"Parameters.{name}: the value of SSM parameter {value!r} cannot be read "
                    "locally; its name stands for its value (give --param "
                    f"{name}=VALUE)"
                )
            params[name] = value
        return params

    @staticmethod
    def _check_parameter(name: str, spec: Mapping[str, Any], ptype: str, value: Any) -> None:
        def fail(reason: str) -> TemplateError:
            hint = spec.get("ConstraintDescription")
            return TemplateError(f"Parameter '{name}' {reason}" + (f" ({hint})" if hint else ""))

        text = str(value)
        allowed = spec.get("AllowedValues")
        if allowed and text not in [str(a) for a in allowed]:
            raise fail(f"must be one of AllowedValues {allowed} (got {text!r})")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(str(pattern), text):
            raise fail(f"must match pattern {pattern} (got {text!r})")
        if "MinLength" in spec and len(text) < int(spec["MinLength"]):
            raise fail(f"must contain at least {spec['MinLength']} characters")
        if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
            raise fail(f"must contain at most {spec['MaxLength']} characters")
        if ptype in ("Number", "List<Number>"):
            try:
                number = float(text)
            except ValueError:
                raise fail(f"must be a number (got {text!r})") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise fail(f"must be a number not less than {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise fail(f"must be a number not greater than {spec['MaxValue']}")

    def _condition(self, name: str) -> bool:
        if name not in self.conditions:
            spec = (self.doc.get("Conditions") or {}).get(name)
            if spec is None:
                raise TemplateError(
                    f"Template format error: Unresolved dependencies [{name}]: "
                    "no such condition in the Conditions section"
                )
            self.conditions[name] = bool(self.resolve(spec))
        return self.conditions[name]

    def resource_enabled(self, logical_id: str) -> bool:
        cond = self.doc["Resources"][logical_id].get("Condition")
        return True if cond is None else self._condition(cond)

    # ------------------------------------------------------------------ references
    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{LOCAL_ACCOUNT}:stack/"
            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"{self.where}: unknown pseudo parameter {name}")
        return values[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.attributes and "Ref" in self.attributes[name]:
            return self.attributes[name]["Ref"]
        values = self._values(name)
        if values is not None:
            return values.ref
        if name in self.doc["Resources"] or sam_generated(self.doc, name):
            return name  # a type without a table entry: its logical id stands for it
        raise TemplateError(
            f"{self.where}: Template format error: Unresolved resource dependencies [{name}]"
        )

    def resource_type(self, logical_id: str) -> str:
        return str((self.doc["Resources"].get(logical_id) or {}).get("Type", ""))

    def _values(self, logical_id: str) -> ResourceValues | None:
        """What CloudFormation's ``Ref``/``Fn::GetAtt`` give for a resource not created here
        (``cfn_values.py``), its name properties resolved; None for a type not in the table."""
        if logical_id in self._values_cache:
            return self._values_cache[logical_id]
        resource = self.doc["Resources"].get(logical_id)
        if not isinstance(resource, dict):
            return None
        if logical_id in self._resolving:
            raise TemplateError(
                f"{self.where}: Template format error: Circular dependency between resources: "
                f"[{logical_id}]"
            )
        props = resource.get("Properties") or {}

        def prop(key: str) -> Any:
            previous, self.where = self.where, f"{logical_id}.{key}"
            try:
                value = self.resolve(props.get(key)) if isinstance(props, dict) else None
            finally:
                self.where = previous
            return None if value is NO_VALUE else value

        self._resolving.add(logical_id)
        try:
            scope = Scope(region=self.region, stack_name=self.stack_name)
            values = values_of(str(resource.get("Type", "")), logical_id, prop, scope)
        finally:
            self._resolving.discard(logical_id)
        self._values_cache[logical_id] = values
        return values

    def get_att(self, logical_id: str, attr: str) -> Any:
        attrs = self.attributes.get(logical_id, {})
        if attr in attrs:
            return attrs[attr]
        rtype = self.resource_type(logical_id)
        if attrs and rtype == "AWS::DynamoDB::Table" and attr == "StreamArn":
            name = attrs.get("Ref", logical_id)
            return f"arn:aws:dynamodb:{self.region}:{LOCAL_ACCOUNT}:table/{name}/stream/local"
        if rtype in ("AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster") and attr == "Arn":
            return f"arn:aws:kafka:{self.region}:{LOCAL_ACCOUNT}:cluster/{logical_id}/local"
        values = self._values(logical_id)
        if values is None or attr in values.unvalued:
            return f"{logical_id}.{attr}"
        if attr in values.attributes:
            return values.attributes[attr]
        props = self.doc["Resources"][logical_id].get("Properties") or {}
        if isinstance(props, dict) and attr in props:
            # a registry resource type returns any of its properties (Fn::GetAtt reference)
            return self.resolve(props[attr])
        if rtype.startswith("AWS::Serverless::"):
            return f"{logical_id}.{attr}"  # SAM's transform decides what it makes of it
        raise TemplateError(
            f"{self.where}: Template error: resource {logical_id} does not support attribute "
            f"type {attr} in Fn::GetAtt"
        )

    # ------------------------------------------------------------------ intrinsic functions
    def _sub(self, text: str, extra: Mapping[str, Any]) -> str:
        def repl(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in extra:
                return str(extra[token])
            if "." in token and not token.startswith("AWS::"):
                logical_id, attr = token.split(".", 1)
                return str(self.get_att(logical_id, attr))
            value = self.ref(token)
            return ",".join(map(str, value)) if isinstance(value, list) else str(value)

        return _SUB_VAR.sub(repl, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or _is_condition(key, arg):
                try:
                    return self._intrinsic(key, arg)
                except TemplateError:
                    raise
                except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                    raise TemplateError(
                        f"{self.where}: Template error: malformed {key} arguments {arg!r}"
                    ) from None
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self.ref(arg)
        if key == "Condition":  # SAM writes {"Condition": {"Condition": name}} in Fn::And
            return self._condition(arg) if isinstance(arg, str) else bool(self.resolve(arg))
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else self.resolve(arg)
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
            if not 0 <= index < len(items):
                raise TemplateError(
                    f"{self.where}: Template error: Fn::Select cannot select nonexistent value "
                    f"at index {index}"
                )
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
        if key == "Fn::FindInMap":
            return self._find_in_map(arg)
        if key == "Fn::GetAZs":
            region = self.resolve(arg) or self.region
            return [f"{region}{zone}" for zone in "abc"]
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::Cidr":
            block, count, bits = self.resolve(arg)
            network = ipaddress.ip_network(str(block), strict=False)
            subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
            return [str(s) for _, s in zip(range(int(count)), subnets, strict=False)]
        if key == "Fn::Length":
            return len(self.resolve(arg))
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if key == "Fn::ImportValue":
            name = self.resolve(arg)
            self.note(
                f"{self.where}: Fn::ImportValue {name}: another stack's export cannot be resolved "
                "locally; the export's name stands for its value"
            )
            return str(name)
        raise TemplateError(f"{self.where}: intrinsic {key} is not supported by the local harness")

    def _find_in_map(self, arg: list[Any]) -> Any:
        name, top, second = (self.resolve(x) for x in arg[:3])
        default = (arg[3] if len(arg) > 3 else {}) or {}
        mapping = (self.doc.get("Mappings") or {}).get(name)
        try:
            return self.resolve(mapping[top][second])  # type: ignore[index]
        except (KeyError, TypeError):
            if "DefaultValue" in default:
                return self.resolve(default["DefaultValue"])
            raise TemplateError(
                f"{self.where}: Fn::FindInMap: Template error: Unable to get mapping for "
                f"{name}::{top}::{second}"
            ) from None


# ---------------------------------------------------------------------- reference check
