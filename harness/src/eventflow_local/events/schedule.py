"""The EventBridge Scheduled Event a ``Schedule`` / ``ScheduleV2`` event delivers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from eventflow_local.aws import DEFAULT_REGION, LOCAL_ACCOUNT


def schedule_event(rule_arn: str, region: str = DEFAULT_REGION) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
