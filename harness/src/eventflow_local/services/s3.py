"""The template's ``AWS::S3::Bucket`` resources, created in the embedded moto server.

CloudFormation creates each bucket ("AWS::S3::Bucket" in the CloudFormation reference,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html)
named ``BucketName``, else the name it generates (``<stack>-<logicalid>-<suffix>``, lower-case:
``template/cfn_values.py`` computes it). ``!Ref Bucket`` is the name; ``!GetAtt Bucket.Arn``
(``arn:aws:s3:::<name>``), ``.DomainName`` and ``.RegionalDomainName`` are the values AWS gives,
so a function that calls ``s3.put_object(Bucket=os.environ["BUCKET"], ...)`` reaches the bucket
through ``AWS_ENDPOINT_URL``. That endpoint is an IP address (``http://127.0.0.1:<port>``), for
which boto3 and the AWS CLI address buckets path-style by themselves; a client pointed at
``localhost`` needs ``s3={"addressing_style": "path"}`` in its botocore ``Config``.

The bucket's ``NotificationConfiguration`` is delivered by the harness (``eventsources/s3/``),
not set as written in moto: moto would invoke a Lambda configuration through its own Lambda
backend. ``VersioningConfiguration`` is applied; the other properties (lifecycle, encryption,
CORS, website ...) are accepted and not emulated.

The moto server keeps its data in memory: a restarted harness creates the buckets again, empty.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from eventflow_local.template.sam import SamTemplate

BUCKET_TYPE = "AWS::S3::Bucket"
_ATTRIBUTES = ("Arn", "DomainName", "RegionalDomainName", "DualStackDomainName", "WebsiteURL")


def ensure_buckets(
    template: SamTemplate, endpoint: Any
) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    """Create (or reuse) every bucket of ``template`` on ``endpoint`` (a ``DynamoEndpoint``).
    Returns logical id -> ``{"Ref": name, "Arn", "DomainName", "RegionalDomainName", ...}``, the
    "not emulated" lines (buckets on an endpoint that serves no S3) and the refused lines (a
    bucket S3 refuses: CloudFormation would not create it either)."""
    declared = template.resources_of(BUCKET_TYPE)
    if not declared:
        return {}, [], []
    if not endpoint.emulates_services:
        return (
            {},
            [
                f"{lid}: {BUCKET_TYPE} is created only on the embedded moto server or LocalStack, "
                f"not on {endpoint.url}"
                for lid in declared
            ],
            [],
        )
    client = endpoint.client("s3")
    region = client.meta.region_name
    out: dict[str, dict[str, str]] = {}
    refused: list[str] = []
    for lid in declared:
        name = str(template.ref(lid)).lower()
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            client.create_bucket(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "BucketAlreadyOwnedByYou":
                refused.append(f"{lid}: {error.get('Code')}: {error.get('Message')}")
                continue
        versioning = (template.properties(lid).get("VersioningConfiguration") or {}).get("Status")
        if versioning in ("Enabled", "Suspended"):
            client.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": versioning}
            )
        attrs = {"Ref": name}
        attrs.update({att: str(template.get_att(lid, att)) for att in _ATTRIBUTES})
        out[lid] = attrs
    return out, [], refused
