"""The identifiers every emulated resource shares: the local account, the default region, and
the ARNs built from them. One definition each; the worker process (``runtime/worker.py``), which
imports nothing from the harness, receives the account through its environment.

ARN formats: AWS General Reference, "Amazon Resource Names (ARNs)", and each service's
"Actions, resources, and condition keys" page (Lambda ``function``, MSK ``cluster``).
"""

from __future__ import annotations

#: the account id of every local resource (``AWS::AccountId``)
LOCAL_ACCOUNT = "123456789012"
#: the region when none is given (``--region``, ``AWS::Region``)
DEFAULT_REGION = "us-east-1"
#: SAM's event types (and mapping sources) of Kafka: Amazon MSK and self-managed Apache Kafka
KAFKA_EVENT_TYPES = ("MSK", "SelfManagedKafka")
#: the name of the embedded broker's cluster, in its MSK ARN and broker metadata
LOCAL_CLUSTER = "eventflow-local"
_LOCAL_CLUSTER_UUID = "00000000-0000-0000-0000-000000000000-1"


def function_arn(name: str, region: str = DEFAULT_REGION) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>``"""
    return f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{name}"


def local_msk_arn(region: str = DEFAULT_REGION) -> str:
    """The MSK cluster ARN of the embedded broker (a template's ``MskClusterArn``, and the
    ``eventSourceArn`` of an MSK event that names no cluster)."""
    return f"arn:aws:kafka:{region}:{LOCAL_ACCOUNT}:cluster/{LOCAL_CLUSTER}/{_LOCAL_CLUSTER_UUID}"
