"""API keys and usage plans of the deployed template, enforced per request.

As API Gateway does (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html):
a method that requires an API key accepts a request only when its ``x-api-key`` header is an
enabled ``AWS::ApiGateway::ApiKey`` that a ``AWS::ApiGateway::UsagePlan`` covering the API's stage
(``ApiStages``) holds (``AWS::ApiGateway::UsagePlanKey``, or the key's ``StageKeys``); otherwise
403 ``{"message": "Forbidden"}``. The plan's ``Throttle`` (``RateLimit`` requests a second,
``BurstLimit`` the bucket) is a token bucket per key: beyond it 429
``{"message": "Too Many Requests"}``; an ``ApiStages`` entry's ``Throttle`` map limits one method
of that stage the same way, keyed ``<resource path>/<HTTP method>`` (``/pets/GET``), on top of
the plan's (https://docs.aws.amazon.com/apigateway/latest/api/API_ApiStage.html: "Map containing
method level throttling information for API stage in a usage plan"); its ``Quota`` (``Limit`` requests a ``DAY`` / ``WEEK`` /
``MONTH``) counts per key: beyond it 429 ``{"message": "Limit Exceeded"}``
(https://repost.aws/knowledge-center/api-gateway-429-limit,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
A key without a ``Value`` gets one API Gateway would generate; the harness prints it at start-up.
SAM's ``Auth.UsagePlan`` arrives as these resources.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from eventflow_local.apigw.restapi import Deployed, stage_names, target

Clock = Callable[[], float]
PERIODS = {"DAY": 86400.0, "WEEK": 7 * 86400.0, "MONTH": 30 * 86400.0}
FORBIDDEN, THROTTLED, QUOTA = "Forbidden", "Too Many Requests", "Limit Exceeded"
Limits = tuple[float | None, int | None]  # RateLimit, BurstLimit


@dataclass
class ApiKey:
    lid: str
    value: str
    generated: bool = False
    enabled: bool = True


@dataclass
class UsagePlan:
    lid: str
    stages: set[tuple[str, str]] = field(default_factory=set)  # (RestApi lid, StageName)
    keys: set[str] = field(default_factory=set)  # ApiKey lids
    rate: float | None = None
    burst: int | None = None
    quota: int | None = None
    period: float = PERIODS["DAY"]
    #: (RestApi lid, StageName) -> {(resource path, METHOD): (RateLimit, BurstLimit)}
    methods: dict[tuple[str, str], dict[tuple[str, str], Limits]] = field(default_factory=dict)


def method_key(path: str, method: str) -> tuple[str, str]:
    """A method as a usage plan's per-method ``Throttle`` names it; a trailing slash of the
    resource path is no other resource."""
    return (path.rstrip("/") or "/", method.upper())


def _limits(settings: Mapping[str, object]) -> Limits:
    rate, burst = settings.get("RateLimit"), settings.get("BurstLimit")
    return (
        None if rate is None else float(str(rate)),
        None if burst is None else int(str(burst)),
    )


class UsagePlans:
    """The template's keys and plans, with each key's bucket and quota count."""

    def __init__(
        self, keys: list[ApiKey], plans: list[UsagePlan], clock: Clock = time.monotonic
    ) -> None:
        self.keys = keys
        self.plans = plans
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}  # tokens, at
        self._counts: dict[tuple[str, str], tuple[float, int]] = {}  # window start, count

    @classmethod
    def read(cls, deployed: Deployed, clock: Clock = time.monotonic) -> UsagePlans:
        stages = stage_names(deployed)
        keys: list[ApiKey] = []
        plans: dict[str, UsagePlan] = {}
        stage_keys: dict[str, set[tuple[str, str]]] = {}
        for lid in deployed.resources_of("AWS::ApiGateway::ApiKey"):
            props = deployed.properties(lid)
            raw = deployed.resources_of("AWS::ApiGateway::ApiKey")[lid].get("Properties") or {}
            value = props.get("Value")
            keys.append(
                ApiKey(
                    lid,
                    str(value) if value else f"local{secrets.token_hex(16)}",
                    generated=not value,
                    enabled=str(props.get("Enabled", "false")).lower()
                    == "true",  # CFN default: false
                )
            )
            for entry in raw.get("StageKeys") or []:
                api = target(entry.get("RestApiId"))
                stage = target(entry.get("StageName"))
                stage_keys.setdefault(lid, set()).add(
                    (str(api), stages.get(str(stage), str(stage)))
                )
        for lid, res in deployed.resources_of("AWS::ApiGateway::UsagePlan").items():
            props = deployed.properties(lid)
            raw = res.get("Properties") or {}
            plan = UsagePlan(lid)
            for raw_entry, entry in zip(
                raw.get("ApiStages") or [], props.get("ApiStages") or [], strict=False
            ):
                ref = target(raw_entry.get("Stage"))
                stage = stages[ref] if ref in stages else str(entry.get("Stage"))
                api = target(raw_entry.get("ApiId")) or str(entry.get("ApiId"))
                plan.stages.add((api, stage))
                for name, settings in (entry.get("Throttle") or {}).items():
                    path, _, verb = str(name).rpartition("/")
                    plan.methods.setdefault((api, stage), {})[method_key(path, verb)] = _limits(
                        settings or {}
                    )
            plan.rate, plan.burst = _limits(props.get("Throttle") or {})
            quota = props.get("Quota") or {}
            if quota.get("Limit") is not None:
                plan.quota = int(quota["Limit"])
                plan.period = PERIODS.get(str(quota.get("Period") or "DAY").upper(), PERIODS["DAY"])
            plans[lid] = plan
        for res in deployed.resources_of("AWS::ApiGateway::UsagePlanKey").values():
            raw = res.get("Properties") or {}
            plan_id, key_id = target(raw.get("UsagePlanId")), target(raw.get("KeyId"))
            if plan_id in plans and key_id:
                plans[plan_id].keys.add(key_id)
        for key_lid, covered in stage_keys.items():  # StageKeys: the key reaches those stages
            for plan in plans.values():
                if plan.stages & covered:
                    plan.keys.add(key_lid)
        return cls(keys, list(plans.values()), clock)

    def required_for(self, api: str, stage: str) -> list[UsagePlan]:
        return [p for p in self.plans if (api, stage) in p.stages]

    def _take(self, slot: tuple[str, ...], limits: Limits, now: float) -> bool:
        """A token of the bucket ``slot`` (rate, burst), if there is one."""
        rate, burst = limits
        if rate is None and burst is None:
            return True
        capacity = float(burst if burst is not None else max(1.0, rate or 1.0))
        per_second = rate if rate is not None else capacity
        tokens, at = self._buckets.get(slot, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * per_second)
        if tokens < 1.0:
            self._buckets[slot] = (tokens, now)
            return False
        self._buckets[slot] = (tokens - 1.0, now)
        return True

    def check(
        self, api: str, stage: str, given: str | None, method: tuple[str, str] | None = None
    ) -> tuple[str | None, ApiKey | None]:
        """(None, key) when the request may go on; else (message, key or None). ``method``:
        the (resource path, HTTP method) called, for the plan's per-method throttles."""
        key = next(
            (
                k
                for k in self.keys
                if given and k.enabled and hmac.compare_digest(given.encode(), k.value.encode())
            ),
            None,
        )
        if key is None:
            return FORBIDDEN, None
        plan = next((p for p in self.required_for(api, stage) if key.lid in p.keys), None)
        if plan is None:
            return FORBIDDEN, key
        now = self.clock()
        with self._lock:
            slot = (plan.lid, key.lid)
            if method is not None:
                wanted = method_key(*method)
                limits = (plan.methods.get((api, stage)) or {}).get(wanted)
                if limits is not None and not self._take((*slot, *wanted), limits, now):
                    return THROTTLED, key
            if not self._take(slot, (plan.rate, plan.burst), now):
                return THROTTLED, key
            if plan.quota is not None:
                start, count = self._counts.get(slot, (now, 0))
                if now - start >= plan.period:
                    start, count = now, 0
                if count >= plan.quota:
                    return QUOTA, key
                self._counts[slot] = (start, count + 1)
        return None, key

    def describe(self, needed: Mapping[str, list[str]]) -> list[str]:
        """Start-up lines: each key that opens a stage needing one; ``needed``: RestApi lid ->
        stages whose methods require a key."""
        lines = []
        for key in self.keys:
            reach = sorted(
                f"{api}/{stage}"
                for plan in self.plans
                if key.lid in plan.keys
                for api, stage in plan.stages
                if stage in needed.get(api, [])
            )
            if not reach:
                continue
            origin = "generated here: it declares no Value" if key.generated else "declared"
            state = "" if key.enabled else " (disabled: refused)"
            lines.append(
                f"API key 'x-api-key: {key.value}'   (AWS::ApiGateway::ApiKey {key.lid}, {origin}; "
                f"{', '.join(reach)}){state}"
            )
        for api, stages in needed.items():
            for stage in stages:
                if not self.required_for(api, stage):
                    lines.append(
                        f"{api}/{stage}: methods require an API key but no usage plan covers the "
                        "stage: every key is refused (403), as on AWS"
                    )
        return lines
