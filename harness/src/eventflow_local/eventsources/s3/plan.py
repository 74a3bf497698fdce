"""The notification configurations of the template's buckets, read as S3 would accept them.

A bucket's ``NotificationConfiguration`` ("AWS::S3::Bucket NotificationConfiguration" in the
CloudFormation reference) holds ``LambdaConfigurations`` (``Function``), ``QueueConfigurations``
(``Queue``) and ``TopicConfigurations`` (``Topic``), each with one ``Event`` and an optional
``Filter.S3Key.Rules`` of ``prefix``/``suffix`` rules; SAM's ``Type: S3`` events become
``LambdaConfigurations`` of their bucket (the transform writes them there, one per event type).
What S3 refuses at ``PutBucketNotificationConfiguration`` is refused here ("Amazon S3 Event
Notifications": the supported event types; "Configuring event notifications using object key
name filtering": one ``prefix`` and one ``suffix`` rule at most, and two configurations of the
same bucket whose event types and key filters overlap are refused). A function, queue or topic
that is not the template's is named as not delivered.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.eventsources.schedule.plan import function_of
from eventflow_local.services.s3 import BUCKET_TYPE

#: the event types of "Amazon S3 Event Notifications" ("Supported event types")
EVENT_TYPES = frozenset(
    {
        "s3:TestEvent",
        "s3:ObjectCreated:*",
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectRemoved:*",
        "s3:ObjectRemoved:Delete",
        "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post",
        "s3:ObjectRestore:Completed",
        "s3:ObjectRestore:Delete",
        "s3:ReducedRedundancyLostObject",
        "s3:Replication:*",
        "s3:Replication:OperationFailedReplication",
        "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold",
        "s3:Replication:OperationNotTracked",
        "s3:LifecycleExpiration:*",
        "s3:LifecycleExpiration:Delete",
        "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:LifecycleTransition",
        "s3:IntelligentTiering",
        "s3:ObjectTagging:*",
        "s3:ObjectTagging:Put",
        "s3:ObjectTagging:Delete",
        "s3:ObjectAcl:Put",
    }
)
#: configuration list -> (destination property, kind)
_KINDS = {
    "LambdaConfigurations": ("Function", "lambda"),
    "QueueConfigurations": ("Queue", "sqs"),
    "TopicConfigurations": ("Topic", "sns"),
}


@dataclass(frozen=True)
class NotificationSpec:
    """One configuration of a bucket's notification configuration."""

    bucket: str  # logical id
    kind: str  # "lambda" | "sqs" | "sns"
    #: the function's, queue's or topic's ARN
    target: str
    event: str
    prefix: str = ""
    suffix: str = ""
    #: the configuration's ``Id`` (S3 generates one when the template gives none)
    configuration_id: str = ""
    #: kind lambda: the logical id of the template's function
    function: str | None = None

    def matches(self, event_name: str, key: str) -> bool:
        """``event_name`` (``ObjectCreated:Put``) of the object ``key`` (its name, not encoded)
        is one this configuration is for."""
        full = f"s3:{event_name}"
        wanted = full == self.event or (
            self.event.endswith(":*") and full.startswith(self.event[:-1])
        )
        return wanted and key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass
class BucketNotifications:
    bucket: str  # logical id
    name: str
    arn: str
    specs: list[NotificationSpec] = field(default_factory=list)


@dataclass
class NotificationPlan:
    buckets: list[BucketNotifications] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def generated_id(bucket: str, index: int, kind: str) -> str:
    """The id S3 gives a configuration without ``Id`` (a stable, opaque string here)."""
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"s3-notification:{bucket}:{kind}:{index}").bytes
    return base64.b64encode(raw).decode().rstrip("=")


def _rules(where: str, config: dict[str, Any]) -> tuple[str, str]:
    rules = (((config.get("Filter") or {}).get("S3Key") or {}).get("Rules")) or []
    found: dict[str, str] = {}
    for rule in rules:
        name = str(rule.get("Name", "")).lower()
        if name not in ("prefix", "suffix"):
            raise ValueError(f"{where}: filter rule name must be either prefix or suffix")
        if name in found:
            raise ValueError(f"{where}: cannot specify more than one {name} rule in a filter")
        found[name] = str(rule.get("Value", ""))
    return found.get("prefix", ""), found.get("suffix", "")


def _overlap(a: NotificationSpec, b: NotificationSpec) -> bool:
    """Two configurations S3 says overlap: an event type in common, and key filters that can
    both match one key."""

    def covers(x: str, y: str) -> bool:
        return x == y or (x.endswith(":*") and y.startswith(x[:-1]))

    events = covers(a.event, b.event) or covers(b.event, a.event)
    prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
    suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
    return events and prefixes and suffixes


def _bucket_specs(template: Any, lid: str, plan: NotificationPlan) -> list[NotificationSpec]:
    raw_conf = (template.doc["Resources"][lid].get("Properties") or {}).get(
        "NotificationConfiguration"
    ) or {}
    conf = template.properties(lid).get("NotificationConfiguration") or {}
    specs: list[NotificationSpec] = []
    for listing, (prop, kind) in _KINDS.items():
        raws = raw_conf.get(listing) or []
        for index, config in enumerate(conf.get(listing) or []):
            where = f"{lid}: NotificationConfiguration.{listing}[{index}]"
            event = str(config.get("Event", ""))
            if event not in EVENT_TYPES:
                raise ValueError(f"{where}: The event {event!r} is not supported for notifications")
            prefix, suffix = _rules(where, config)
            raw_target = raws[index].get(prop) if index < len(raws) else None
            function = function_of(template, raw_target) if kind == "lambda" else None
            if kind == "lambda" and function is None:
                plan.skipped.append(
                    f"{where}: function {config.get(prop)} is not the template's; not delivered"
                )
                continue
            spec = NotificationSpec(
                bucket=lid,
                kind=kind,
                target=str(config.get(prop, "")),
                event=event,
                prefix=prefix,
                suffix=suffix,
                configuration_id=str(config.get("Id") or generated_id(lid, len(specs), kind)),
                function=function,
            )
            for other in specs:
                if _overlap(spec, other):
                    raise ValueError(
                        f"{where}: Configurations overlap. Configurations on the same bucket "
                        "cannot share a common event type (and overlapping key filters)"
                    )
            specs.append(spec)
    return specs


def plan_notifications(template: Any) -> NotificationPlan:
    """Every notification configuration of ``template``'s buckets (already created: ``!Ref``
    of a bucket is its name)."""
    plan = NotificationPlan()
    for lid in template.resources_of(BUCKET_TYPE):
        if not (template.properties(lid).get("NotificationConfiguration") or {}):
            continue
        try:
            specs = _bucket_specs(template, lid, plan)
        except ValueError as exc:
            plan.refused.append(str(exc))
            continue
        if specs:
            name = str(template.ref(lid))
            plan.buckets.append(
                BucketNotifications(lid, name, str(template.get_att(lid, "Arn")), specs)
            )
    conf_types = ("EventBridgeConfiguration",)
    for lid in template.resources_of(BUCKET_TYPE):
        conf = template.properties(lid).get("NotificationConfiguration") or {}
        for name in conf_types:
            if conf.get(name):
                plan.skipped.append(f"{lid}: NotificationConfiguration.{name} is not emulated")
    return plan
