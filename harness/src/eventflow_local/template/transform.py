"""SAM's own transform, run offline: the CloudFormation a SAM template deploys as.

AWS deploys what the ``AWS::Serverless-2016-10-31`` transform produces, not the SAM shorthand: an
``AWS::Lambda::Function`` per function, an ``AWS::ApiGateway::RestApi`` whose ``Body`` is the
OpenAPI document API Gateway serves, ``AWS::Lambda::EventSourceMapping``, ``AWS::Events::Rule``,
``AWS::Scheduler::Schedule``, ``AWS::DynamoDB::Table`` for a ``SimpleTable``, and the rest
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources.html).
The harness runs SAM's own library for it, ``aws-sam-translator`` (behind ``sam validate`` and
CloudFormation's transform), so that every SAM form is read exactly as AWS reads it, and a plain
CloudFormation template enters at the same point.

What is done around it, as SAM CLI does before and after translating (``samcli/lib/samlib``):

- local code is not in S3: a local ``CodeUri`` / ``ContentUri`` (resource or ``Globals``) is
  swapped for an ``s3://`` placeholder before translating, and the ``Code`` / ``Content`` of the
  resulting resource is the local folder's absolute path again afterwards;
- a local ``DefinitionUri`` of an API is swapped the same way; the ``BodyS3Location`` it becomes is
  then the file's document as ``Body``, which is what API Gateway imports;
- ``Fn::Transform: AWS::Include`` of a local file is replaced by the file's content, as
  ``sam package`` uploads it and CloudFormation includes it before SAM's transform runs;
- a nested application from the Serverless Application Repository cannot be fetched offline: its
  ``Location`` becomes a placeholder URL, so SAM makes the ``AWS::CloudFormation::Stack`` it would
  make, and nothing reaches the network.

A template SAM rejects raises ``TemplateError`` with SAM's own message on one line.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventflow_local.template.references import TemplateError

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
#: the bucket of the placeholders; the key is the index of the local path in the mapping
PLACEHOLDER_BUCKET = "eventflow-local-placeholder"
_SAR_PLACEHOLDER = (
    "https://eventflow-local-placeholder.s3.amazonaws.com/serverless-application-repository/"
)


def has_sam_transform(doc: Mapping[str, Any]) -> bool:
    transform = doc.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return any(
        (name.get("Name") if isinstance(name, dict) else name) == SAM_TRANSFORM for name in names
    )


class _Placeholders:
    """Local paths swapped for ``s3://`` placeholders, and back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: list[Path] = []

    def swap(self, value: Any) -> Any:
        """An ``s3://`` placeholder for a local path; anything else unchanged."""
        if not isinstance(value, str) or "://" in value:
            return value
        self.paths.append((self.root / value).resolve())
        return f"s3://{PLACEHOLDER_BUCKET}/{len(self.paths) - 1}"

    def local(self, location: Any) -> Path | None:
        """The local path of a translated ``{S3Bucket|Bucket, S3Key|Key}`` placeholder."""
        if not isinstance(location, dict):
            return None
        bucket = location.get("S3Bucket", location.get("Bucket"))
        key = location.get("S3Key", location.get("Key"))
        if bucket != PLACEHOLDER_BUCKET or not str(key).isdigit():
            return None
        return self.paths[int(str(key))]


def _include(node: Any, root: Path) -> Any:
    """``Fn::Transform: {Name: AWS::Include, Parameters: {Location: <local file>}}`` replaced by the
    file's document (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/create-reusable-transform-function-snippets-and-add-to-your-template-with-aws-include-transform.html)."""
    if isinstance(node, list):
        return [_include(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    spec = node.get("Fn::Transform")
    if len(node) == 1 and isinstance(spec, dict) and spec.get("Name") == "AWS::Include":
        location = (spec.get("Parameters") or {}).get("Location")
        if isinstance(location, str) and "://" not in location:
            from eventflow_local.template.document import load_document

            return _include(load_document((root / location).resolve()), root)
    return {key: _include(value, root) for key, value in node.items()}


def _swap_local_code(doc: dict[str, Any], swap: _Placeholders) -> None:
    globals_ = doc.get("Globals")  # not a map: SAM's transform says so in its own words
    functions = globals_.get("Function") if isinstance(globals_, dict) else None
    if isinstance(functions, dict) and "CodeUri" in functions:
        functions["CodeUri"] = swap.swap(functions["CodeUri"])
    has_global_code = isinstance(functions, dict) and "CodeUri" in functions
    for resource in (doc.get("Resources") or {}).values():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties")
        if not isinstance(props, dict):
            props = None
        rtype = resource.get("Type")
        if rtype == "AWS::Serverless::Function":
            if props is None:
                props = resource["Properties"] = {}
            if "CodeUri" in props:
                props["CodeUri"] = swap.swap(props["CodeUri"])
            elif not (
                has_global_code
                or "InlineCode" in props
                or "ImageUri" in props
                or props.get("PackageType") == "Image"
            ):
                # SAM CLI's default: the template's folder
                props["CodeUri"] = swap.swap(".")
        elif rtype == "AWS::Serverless::LayerVersion" and props and "ContentUri" in props:
            props["ContentUri"] = swap.swap(props["ContentUri"])
        elif rtype in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and props:
            if "DefinitionUri" in props:
                props["DefinitionUri"] = swap.swap(props["DefinitionUri"])
        elif rtype == "AWS::Serverless::Application" and props:
            location = props.get("Location")
            if isinstance(location, dict) and "ApplicationId" in location:
                app = str(location.get("ApplicationId")).rsplit("/", 1)[-1]
                props["Location"] = f"{_SAR_PLACEHOLDER}{app}"


def _restore_local_code(doc: dict[str, Any], swap: _Placeholders) -> None:
    from eventflow_local.template.document import load_document

    for resource in (doc.get("Resources") or {}).values():
        props = resource.get("Properties") or {}
        rtype = resource.get("Type")
        if rtype == "AWS::Lambda::Function":
            path = swap.local(props.get("Code"))
            if path is not None:
                props["Code"] = str(path)
        elif rtype == "AWS::Lambda::LayerVersion":
            path = swap.local(props.get("Content"))
            if path is not None:
                props["Content"] = str(path)
        elif rtype in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
            path = swap.local(props.get("BodyS3Location"))
            if path is not None:
                del props["BodyS3Location"]
                props["Body"] = load_document(path)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def sam_transform(
    doc: Mapping[str, Any],
    *,
    root: Path,
    parameters: Mapping[str, Any],
    region: str,
    account: str,
    stack_name: str,
) -> dict[str, Any]:
    """The CloudFormation document ``doc`` deploys as: SAM's transform applied when the template
    declares it, local code mapped back to local paths; a plain CloudFormation template is
    returned as it is (a copy)."""
    out = _include(copy.deepcopy(dict(doc)), root)
    if not has_sam_transform(out):
        sam = sorted(
            {
                str(res.get("Type"))
                for res in (out.get("Resources") or {}).values()
                if isinstance(res, dict)
                and str(res.get("Type", "")).startswith("AWS::Serverless::")
            }
        )
        if sam:
            # CloudFormation knows these types only through the transform
            raise TemplateError(
                f"Template format error: Unrecognized resource types: [{', '.join(sam)}] "
                f"(add 'Transform: {SAM_TRANSFORM}')"
            )
        return out
    import boto3
    from samtranslator.model.exceptions import (
        ExceptionWithMessage,
        InvalidDocumentException,
    )
    from samtranslator.parser.parser import Parser
    from samtranslator.plugins.application.serverless_app_plugin import ServerlessAppPlugin
    from samtranslator.translator.translator import Translator

    for lid in out.get("Resources") or {}:
        if str(lid).startswith("Fn::ForEach"):
            raise TemplateError(
                f"Resources.{lid}: Fn::ForEach (AWS::LanguageExtensions transform) is not "
                "supported by the local harness"
            )
    # the library's warnings are for AWS's own deployment service (feature toggles, metrics)
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    swap = _Placeholders(root)
    _swap_local_code(out, swap)
    values: dict[str, Any] = {
        k: (",".join(map(str, v)) if isinstance(v, list) else v) for k, v in parameters.items()
    }
    values.update(
        {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
        }
    )
    session = boto3.session.Session(region_name=region)
    translator = Translator(
        None,
        Parser(),
        plugins=[ServerlessAppPlugin(parameters=values, sar_client_creator=_no_network)],
        boto_session=session,
    )
    try:
        translated = translator.translate(out, parameter_values=values, get_managed_policy_map=dict)
    except InvalidDocumentException as exc:
        causes = "; ".join(_one_line(c.message) for c in exc.causes) or _one_line(exc.message)
        raise TemplateError(f"SAM's transform rejects the template: {causes}") from None
    except ExceptionWithMessage as exc:
        raise TemplateError(
            f"SAM's transform rejects the template: {_one_line(exc.message)}"
        ) from None
    except Exception as exc:  # the translator's own failures on odd input: one line, no trace
        raise TemplateError(
            f"SAM's transform failed on the template: {type(exc).__name__}: {_one_line(str(exc))}"
        ) from None
    finally:
        translator.metrics.publish()  # nowhere to: it only quiets the "unpublished" warning
    result: dict[str, Any] = json.loads(json.dumps(translated, default=str))
    _restore_local_code(result, swap)
    return result


def _no_network() -> Any:
    raise TemplateError("the Serverless Application Repository cannot be reached offline")
