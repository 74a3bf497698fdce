"""SAM's ``Globals`` section: which properties it may hold, and how they merge into resources.

Kept apart because the rules are SAM's own, not CloudFormation's, and they are exact:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html
and SAM's transform (``samtranslator/plugins/globals/globals.py``):

- sections: Function, Api, HttpApi, SimpleTable, StateMachine, LayerVersion (and SAM's newer
  ones); another section, or a
  property SAM does not accept in a section (``Role``, ``Policies``, ``FunctionName``, ``Events``,
  ``InlineCode`` for functions; ``StageName``, ``DefinitionBody`` for APIs ...), makes SAM reject the
  whole template, and so does this reader;
- merging: the resource's value wins for primitives and for values of different kinds; maps are
  merged key by key (``Environment.Variables`` from both); lists are concatenated, global first
  (``Layers``); an intrinsic function counts as a primitive;
- a resource's ``IgnoreGlobals`` attribute (``"*"`` or a list of property names) leaves them out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from eventflow_local.template.cfn import TemplateError

#: SAM's list (aws-sam-translator 1.115, ``Globals.supported_properties``); the installed
#: translator's own list is used when it is importable, so a newer SAM is followed
SAM_1_115: dict[str, tuple[str, ...]] = {
    "Function": (
        "Handler",
        "Runtime",
        "CodeUri",
        "DeadLetterQueue",
        "Description",
        "MemorySize",
        "Timeout",
        "VpcConfig",
        "Environment",
        "Tags",
        "PropagateTags",
        "Tracing",
        "KmsKeyArn",
        "AutoPublishAlias",
        "AutoPublishAliasAllProperties",
        "Layers",
        "DeploymentPreference",
        "RolePath",
        "PermissionsBoundary",
        "ReservedConcurrentExecutions",
        "ProvisionedConcurrencyConfig",
        "AssumeRolePolicyDocument",
        "EventInvokeConfig",
        "FileSystemConfigs",
        "CodeSigningConfigArn",
        "Architectures",
        "SnapStart",
        "EphemeralStorage",
        "FunctionUrlConfig",
        "RuntimeManagementConfig",
        "LoggingConfig",
        "RecursiveLoop",
        "SourceKMSKeyArn",
        "TenancyConfig",
        "DurableConfig",
        "CapacityProviderConfig",
        "FunctionScalingConfig",
        "PublishToLatestPublished",
        "VersionDeletionPolicy",
    ),
    "Api": (
        "Auth",
        "Name",
        "DefinitionUri",
        "CacheClusterEnabled",
        "CacheClusterSize",
        "MergeDefinitions",
        "Variables",
        "EndpointConfiguration",
        "MethodSettings",
        "BinaryMediaTypes",
        "MinimumCompressionSize",
        "Cors",
        "GatewayResponses",
        "AccessLogSetting",
        "CanarySetting",
        "TracingEnabled",
        "OpenApiVersion",
        "Domain",
        "AlwaysDeploy",
        "PropagateTags",
        "SecurityPolicy",
        "EndpointAccessMode",
    ),
    "HttpApi": (
        "Auth",
        "AccessLogSettings",
        "StageVariables",
        "Tags",
        "CorsConfiguration",
        "DefaultRouteSettings",
        "Domain",
        "RouteSettings",
        "FailOnWarnings",
        "PropagateTags",
    ),
    "SimpleTable": ("SSESpecification",),
    "StateMachine": ("PropagateTags",),
    "LayerVersion": ("PublishLambdaVersion",),
    "CapacityProvider": (
        "VpcConfig",
        "OperatorRole",
        "Tags",
        "InstanceRequirements",
        "ScalingConfig",
        "KmsKeyArn",
        "PropagateTags",
        "LoggingConfig",
        "ManagedResourceTags",
    ),
    "MicrovmImage": (
        "BuildRoleArn",
        "BaseImageArn",
        "BaseImageVersion",
        "Logging",
        "EgressNetworkConnectors",
        "CpuConfigurations",
        "Resources",
        "AdditionalOsCapabilities",
        "Hooks",
        "EnvironmentVariables",
        "Tags",
        "PropagateTags",
    ),
    "NetworkConnector": (
        "OperatorRole",
        "Tags",
        "PropagateTags",
    ),
    "WebSocketApi": (
        "AccessLogSettings",
        "ApiKeySelectionExpression",
        "DefaultRouteSettings",
        "DisableExecuteApiEndpoint",
        "DisableSchemaValidation",
        "Domain",
        "FailOnWarnings",
        "IpAddressType",
        "PropagateTags",
        "RouteSelectionExpression",
        "RouteSettings",
        "StageVariables",
        "Tags",
    ),
}


def _installed() -> dict[str, tuple[str, ...]] | None:
    try:
        from samtranslator.plugins.globals.globals import Globals
    except ImportError:  # the translator is a development dependency
        return None
    return {
        str(k).removeprefix("AWS::Serverless::"): tuple(v)
        for k, v in Globals.supported_properties.items()
    }


SUPPORTED = _installed() or SAM_1_115
PREFIX = "AWS::Serverless::"


def parse_globals(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Resource type -> its global properties; ``TemplateError`` where SAM rejects the section."""
    section = doc.get("Globals")
    if section is None:
        return {}
    if not isinstance(section, dict) or not section:
        raise TemplateError("'Globals' section is invalid. It must be a non-empty dictionary")
    out: dict[str, dict[str, Any]] = {}
    for name, props in section.items():
        if name not in SUPPORTED:
            raise TemplateError(
                f"'Globals' section is invalid. '{name}' is not supported. Must be one of the "
                f"following values - {sorted(SUPPORTED)}"
            )
        if not isinstance(props, dict):
            raise TemplateError(
                f"'Globals' section is invalid. Value of {name} must be a dictionary"
            )
        for key in props:
            if key not in SUPPORTED[name]:
                raise TemplateError(
                    f"'Globals' section is invalid. '{key}' is not a supported property of "
                    f"'{name}'. Must be one of the following values - {list(SUPPORTED[name])}"
                )
        out[PREFIX + name] = props
    return out


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def _kind(value: Any) -> str:
    if isinstance(value, dict) and not _is_intrinsic(value):
        return "dict"
    if isinstance(value, list):
        return "list"
    return "primitive"


def merge(global_value: Any, local_value: Any) -> Any:
    """SAM's merge of a global value with a resource's own."""
    kind = _kind(global_value)
    if kind != _kind(local_value) or kind == "primitive":
        return copy.deepcopy(local_value)
    if kind == "list":
        return copy.deepcopy(global_value) + copy.deepcopy(local_value)
    out = copy.deepcopy(global_value)
    for key, value in local_value.items():
        out[key] = merge(out[key], value) if key in out else copy.deepcopy(value)
    return out


def apply_globals(
    globals_: Mapping[str, dict[str, Any]], logical_id: str, resource: Mapping[str, Any]
) -> dict[str, Any]:
    """The resource's properties with the Globals of its type merged in."""
    props = dict(resource.get("Properties") or {})
    glob = dict(globals_.get(str(resource.get("Type")), {}))
    if not glob:
        return props
    ignore = resource.get("IgnoreGlobals")
    if ignore == "*":
        return props
    if isinstance(ignore, list):
        for key in ignore:
            if key not in glob:
                raise TemplateError(
                    f"Resource {logical_id} has invalid resource attribute 'IgnoreGlobals' on "
                    f"item '{key}'."
                )
            del glob[key]
    elif ignore is not None:
        raise TemplateError(
            f"Resource {logical_id} has invalid resource attribute 'IgnoreGlobals'."
        )
    return dict(merge(glob, props))
