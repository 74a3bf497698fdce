"""The template's SNS subscriptions, read as CloudFormation would create them.

A subscription is an ``AWS::SNS::Subscription`` (SAM makes one of each ``Type: SNS`` event:
protocol ``lambda`` to the function, or with ``SqsSubscription`` protocol ``sqs`` to a queue it
makes, with a queue policy and an SQS event source mapping) or an entry of a topic's inline
``Subscription`` list. What AWS would refuse is refused here ("AWS::SNS::Subscription" in the
CloudFormation reference; "Invoking Lambda functions with Amazon SNS notifications": Lambda
subscribes to standard topics only, not FIFO ones; "Fanout to Amazon SQS queues": an SQS FIFO
queue subscribes to FIFO topics only, a standard queue to either; "Amazon SNS message
filtering"); a protocol other than ``lambda`` and ``sqs``, a topic or function that is not the
template's, is named as not emulated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.eventsources.schedule.plan import function_of
from eventflow_local.eventsources.sns.policy import FilterError, Policy, compile_policy
from eventflow_local.eventsources.sns.redrive import read_redrive

SUBSCRIPTION_TYPE = "AWS::SNS::Subscription"
PROTOCOLS = ("lambda", "sqs")


@dataclass(frozen=True)
class SubscriptionSpec:
    logical_id: str
    #: the subscription's ARN (``!Ref`` of it): ``<topic ARN>:<id>``
    arn: str
    topic_arn: str
    protocol: str
    #: the function's or the queue's ARN
    endpoint: str
    raw: bool
    #: the filter policy's predicate (None: every message)
    policy: Policy | None
    fifo_topic: bool
    #: protocol lambda: the logical id of the template's function
    function: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    #: the RedrivePolicy's deadLetterTargetArn (None: a failed delivery is discarded)
    dead_letter: str | None = None

    @property
    def topic_name(self) -> str:
        return self.topic_arn.rsplit(":", 1)[-1]


@dataclass
class SubscriptionPlan:
    subscriptions: list[SubscriptionSpec] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def plan_subscriptions(template: Any) -> SubscriptionPlan:
    """Every subscription of ``template`` (its topics already created: ``!Ref`` of a topic
    resolves to the emulator's ARN)."""
    plan = SubscriptionPlan()
    topic_ids = template.resources_of("AWS::SNS::Topic")
    by_arn = {str(template.get_att(lid, "TopicArn")): lid for lid in topic_ids}
    entries: list[tuple[str, dict[str, Any], Any]] = []
    for lid in template.resources_of(SUBSCRIPTION_TYPE):
        raw = template.doc["Resources"][lid].get("Properties", {})
        entries.append((lid, template.properties(lid), raw.get("Endpoint")))
    for topic in topic_ids:
        inline = template.properties(topic).get("Subscription") or []
        raw_list = template.doc["Resources"][topic].get("Properties", {}).get("Subscription") or []
        for n, item in enumerate(inline if isinstance(inline, list) else []):
            raw_item = raw_list[n] if n < len(raw_list) and isinstance(raw_list[n], dict) else {}
            props = {**item, "TopicArn": str(template.get_att(topic, "TopicArn"))}
            entries.append((f"{topic}.Subscription[{n}]", props, raw_item.get("Endpoint")))
    for where, props, raw_endpoint in entries:
        spec = _spec(template, plan, where, props, raw_endpoint, by_arn)
        if spec is not None:
            plan.subscriptions.append(spec)
    return plan


def _spec(
    template: Any,
    plan: SubscriptionPlan,
    where: str,
    props: dict[str, Any],
    raw_endpoint: Any,
    by_arn: dict[str, str],
) -> SubscriptionSpec | None:
    protocol = str(props.get("Protocol") or "").lower()
    topic_arn = str(props.get("TopicArn") or "")
    endpoint = str(props.get("Endpoint") or "")
    if not protocol or not topic_arn:
        plan.refused.append(f"{where}: Protocol and TopicArn are required")
        return None
    if protocol not in PROTOCOLS:
        plan.skipped.append(f"{where}: protocol {protocol} is not emulated (lambda and sqs are)")
        return None
    topic = by_arn.get(topic_arn)
    if topic is None:
        plan.skipped.append(f"{where}: topic {topic_arn} is not the template's; not delivered")
        return None
    fifo = _true(template.properties(topic).get("FifoTopic"))
    if protocol == "sqs" and not fifo and endpoint.endswith(".fifo"):
        plan.refused.append(
            f"{where}: a FIFO queue subscribes to FIFO topics only, not to standard topic {topic}"
        )
        return None
    function = None
    if protocol == "lambda":
        if fifo:
            plan.refused.append(
                f"{where}: Lambda subscribes to standard SNS topics only, not FIFO topic {topic}"
            )
            return None
        function = function_of(template, raw_endpoint)
        if function is None:
            plan.skipped.append(
                f"{where}: {endpoint} is not a function of the template; not delivered"
            )
            return None
    try:
        policy = compile_policy(props.get("FilterPolicy"), props.get("FilterPolicyScope"), where)
    except FilterError as exc:
        plan.refused.append(str(exc))
        return None
    dead_letter, refusal = read_redrive(props, fifo, where)
    if refusal:
        plan.refused.append(refusal)
        return None
    if "." in where:  # an inline subscription: an id of its own, the same at every start
        arn = f"{topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, f'{topic_arn}/{where}')}"
    else:
        arn = str(template.get_att(where, "Arn"))
    return SubscriptionSpec(
        logical_id=where,
        arn=arn,
        topic_arn=topic_arn,
        protocol=protocol,
        endpoint=endpoint,
        raw=_true(props.get("RawMessageDelivery")),
        policy=policy,
        fifo_topic=fifo,
        function=function,
        properties=dict(props),
        dead_letter=dead_letter,
    )
