"""The CloudFormation resources a template deploys, for the API readers.

``SamTemplate.doc`` is the transformed document once the template reader runs SAM's transform
(``eventflow_local.template.transform``); until a template reader gives it, this runs SAM's own
library (``aws-sam-translator``) over the template for the API resources, local code swapped for
``s3://`` placeholders, as SAM CLI does before translating.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.template.cfn import CfnTemplate, TemplateError
from eventflow_local.template.document import load_document
from eventflow_local.template.sam import SamTemplate

_CODE = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def _is_sam(doc: dict[str, Any]) -> bool:
    return any(
        str((res or {}).get("Type", "")).startswith("AWS::Serverless::")
        for res in (doc.get("Resources") or {}).values()
    )


class _Translated:
    """The translated resources, resolved with the template's own values."""

    def __init__(self, template: SamTemplate) -> None:
        import boto3
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator

        self.template = template
        doc = copy.deepcopy(template.doc)
        function_globals = (doc.get("Globals") or {}).get("Function") or {}
        if "CodeUri" in function_globals:
            function_globals["CodeUri"] = "s3://placeholder/code"
        for res in doc["Resources"].values():
            prop = _CODE.get(str(res.get("Type")))
            props = res.setdefault("Properties", {}) if prop else {}
            if prop and not isinstance(props.get(prop), dict):
                props[prop] = "s3://placeholder/code"
            if res.get("Type") == "AWS::Serverless::Api" and isinstance(
                (res.get("Properties") or {}).get("DefinitionUri"), str
            ):
                res["Properties"]["DefinitionBody"] = load_document(
                    template.root / str(res["Properties"].pop("DefinitionUri"))
                )
        values = {
            k: (",".join(map(str, v)) if isinstance(v, list) else v)
            for k, v in template.parameters.items()
        }
        values.update(
            {
                "AWS::Region": template.region,
                "AWS::AccountId": LOCAL_ACCOUNT,
                "AWS::StackName": template.stack_name,
                "AWS::Partition": "aws",
            }
        )
        session = boto3.session.Session(region_name=template.region)
        out = None
        for _ in range(2):  # a resource the template reader refused is left out, once
            try:
                out = Translator(None, Parser(), boto_session=session).translate(
                    copy.deepcopy(doc), parameter_values=values, get_managed_policy_map=dict
                )
                break
            except InvalidDocumentException as exc:
                refused = {getattr(c, "_logical_id", None) for c in exc.causes}
                if not refused <= set(doc["Resources"]) or out is not None:
                    causes = "; ".join(" ".join(str(c.message).split()) for c in exc.causes)
                    raise TemplateError(f"SAM's transform rejects the template: {causes}") from None
                for lid in refused:
                    doc["Resources"].pop(str(lid), None)
                out = {}
        if not out:
            raise TemplateError("SAM's transform rejects the template")
        translated: dict[str, Any] = json.loads(json.dumps(out, default=str))
        self.resources: dict[str, dict[str, Any]] = translated["Resources"]
        self.cfn = CfnTemplate(
            translated, template.parameters, template.region, template.stack_name
        )
        self.cfn.attributes = template.attributes

    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]:
        out = {}
        for lid, res in self.resources.items():
            cond = res.get("Condition")
            if res.get("Type") == rtype and (cond is None or self.cfn._condition(cond)):
                out[lid] = res
        return out

    def properties(self, logical_id: str) -> dict[str, Any]:
        raw = self.resources[logical_id].get("Properties") or {}
        self.cfn.where = logical_id
        return dict(self.cfn.resolve(raw))


def deployed_view(template: SamTemplate) -> Any:
    """What ``restapi.read_rest_apis`` and ``usage_plans.UsagePlans.read`` read."""
    if not _is_sam(template.doc):
        return template
    return _Translated(template)
