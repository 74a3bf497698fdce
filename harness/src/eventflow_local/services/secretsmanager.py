"""The template's ``AWS::SecretsManager::Secret`` resources, created in the embedded moto server.

CloudFormation creates a secret from ``SecretString``, or generates its value from
``GenerateSecretString`` (``PasswordLength`` default 32, ``ExcludeCharacters``,
``ExcludeLowercase``, ``ExcludeUppercase``, ``ExcludeNumbers``, ``ExcludePunctuation``,
``IncludeSpace``, ``RequireEachIncludedType`` default true; with ``SecretStringTemplate`` and
``GenerateStringKey`` the value is the template's JSON with the generated string under that key).
``!Ref Secret`` is its ARN. Locally the same happens on moto's Secrets Manager (the functions reach
it through ``AWS_ENDPOINT_URL``), so a function that reads its secret at run time, like a Lambda
authorizer checking a token, works unchanged; the harness prints how to read the value.

Sources: "AWS::SecretsManager::Secret" and "AWS::SecretsManager::Secret GenerateSecretString" in the
CloudFormation reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.template.sam import SamTemplate

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate(spec: Mapping[str, Any]) -> str:
    """A value as Secrets Manager's GetRandomPassword makes it for ``GenerateSecretString``."""
    length = int(spec.get("PasswordLength", 32))
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    classes = []
    for flag, chars in (
        ("ExcludeLowercase", string.ascii_lowercase),
        ("ExcludeUppercase", string.ascii_uppercase),
        ("ExcludeNumbers", string.digits),
        ("ExcludePunctuation", PUNCTUATION),
    ):
        if not _true(spec.get(flag)):
            kept = "".join(c for c in chars if c not in excluded)
            if kept:
                classes.append(kept)
    if _true(spec.get("IncludeSpace")):
        classes.append(" ")
    if not classes:
        raise ValueError("GenerateSecretString excludes every character")
    alphabet = "".join(classes)
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        require = spec.get("RequireEachIncludedType", True)
        if (
            not _true(require)
            or length < len(classes)
            or all(any(c in cls for c in value) for cls in classes)
        ):
            break
    template = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if template and key:
        doc = json.loads(str(template))
        doc[str(key)] = value
        return json.dumps(doc)
    return value


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def ensure_secrets(
    template: SamTemplate, endpoint: Any
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Create (or reuse) every secret of ``template`` on ``endpoint`` (a ``DynamoEndpoint``:
    moto's server, the one beside DynamoDB Local, and LocalStack serve Secrets Manager too).
    Returns logical id -> ``{"Ref": ARN, "Id": ARN, "Name": name}`` (``!Ref`` of a secret is
    its ARN), and the "not emulated" lines for another endpoint."""
    declared = template.resources_of("AWS::SecretsManager::Secret")
    if declared and not endpoint.emulates_services:
        return {}, [
            f"{lid}: AWS::SecretsManager::Secret is created only on the embedded moto server or "
            f"LocalStack, not on {endpoint.url}"
            for lid in declared
        ]
    if not declared:
        return {}, []
    client = endpoint.client("secretsmanager")
    out: dict[str, dict[str, str]] = {}
    for logical_id, res in declared.items():
        props = template.resolve(res.get("Properties") or {})
        name = str(props.get("Name") or f"{template.stack_name}-{logical_id}")
        if "SecretString" in props:
            value = str(props["SecretString"])
        else:
            value = generate(props.get("GenerateSecretString") or {})
        try:
            arn = client.create_secret(
                Name=name, SecretString=value, Description=str(props.get("Description", ""))
            )["ARN"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
            arn = client.describe_secret(SecretId=name)["ARN"]
        out[logical_id] = {"Ref": arn, "Id": arn, "Name": name}
    return out, []
