"""SNS subscription filter policies, matched as SNS matches them.

AWS pages (Amazon SNS developer guide): "Amazon SNS message filtering", "Amazon SNS subscription
filter policies", "Filter policy scope", "AND/OR logic", "Key matching", "Numeric value
matching", "String value matching" and "Amazon SNS message attributes".

- ``FilterPolicyScope: MessageAttributes`` (the default): each key of the policy names a message
  attribute. A ``String`` attribute is matched as a string, a ``Number`` attribute as a number
  (``[100]`` and ``{"numeric": [...]}`` compare numerically), a ``String.Array`` attribute (a
  JSON array) matches when any element does; ``Binary`` attributes are not matched. Policies on
  attributes are flat: one level of keys (and ``$or``).
- ``FilterPolicyScope: MessageBody``: the policy is matched against the message body parsed as
  JSON, nested keys included; a body that is not a JSON object matches no policy.
- A message matches when every key of the policy matches (AND) and, for a key, any one of its
  values (OR); ``$or`` takes alternatives. An attribute the policy does not name is ignored.
- Operators: exact values, ``prefix``, ``suffix``, ``anything-but`` (values, ``prefix``,
  ``suffix``), ``numeric`` (``=``, ``<``, ``<=``, ``>``, ``>=``, ranges), ``exists`` and
  ``equals-ignore-case``, the grammar of ``eventsources/filters.py`` (shared with Lambda's event
  filtering), which checks and matches them here.
- SNS's limits: at most 5 keys in a policy (``FilterPolicyLimitExceeded``) and a policy of at
  most 256 KB; a policy SNS refuses is a refused subscription at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from eventflow_local.eventsources.filters import FilterError, _check_pattern, matches

__all__ = ["FilterError", "attribute_document", "compile_policy"]

MAX_KEYS = 5
SCOPES = ("MessageAttributes", "MessageBody")

#: (message body, message attributes {name: {"Type", "Value"}}) -> delivered?
Policy = Callable[[str, Mapping[str, Mapping[str, Any]]], bool]


def _number(text: Any) -> float | int | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def attribute_document(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The message attributes as the policy sees them: ``String`` -> its text, ``Number`` ->
    its number, ``String.Array`` -> its elements; ``Binary`` attributes left out."""
    doc: dict[str, Any] = {}
    for name, attr in attributes.items():
        kind = str(attr.get("Type") or attr.get("DataType") or "String")
        value = attr.get("Value", attr.get("StringValue"))
        if kind.startswith("Binary"):
            continue
        if kind.startswith("Number"):
            doc[name] = _number(value)
        elif kind.startswith("String.Array"):
            try:
                items = json.loads(str(value))
            except ValueError:
                continue
            doc[name] = items if isinstance(items, list) else [items]
        else:
            doc[name] = str(value)
    return doc


def _count_keys(node: Any) -> int:
    if not isinstance(node, dict):
        return 0
    total = 0
    for key, child in node.items():
        if key == "$or":
            total += max((_count_keys(alt) for alt in child), default=0)
        elif isinstance(child, dict):
            total += _count_keys(child)
        else:
            total += 1
    return total


def compile_policy(policy: Any, scope: str | None, where: str) -> Policy | None:
    """The predicate of a subscription's ``FilterPolicy`` (a JSON string or an object) in
    ``scope`` (None: ``MessageAttributes``), or None when it has none. ``FilterError``: SNS
    would refuse the policy."""
    if policy in (None, "", {}):
        return None
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            raise FilterError(f"{where}: FilterPolicy is not JSON") from None
    if not isinstance(policy, dict):
        raise FilterError(f"{where}: FilterPolicy must be a JSON object")
    scope = scope or "MessageAttributes"
    if scope not in SCOPES:
        raise FilterError(f"{where}: FilterPolicyScope must be one of {', '.join(SCOPES)}")
    _check_pattern(policy, f"{where}.FilterPolicy")
    if scope == "MessageAttributes":
        for key, child in policy.items():
            alts = child if key == "$or" else [{key: child}]
            for alt in alts:
                if any(isinstance(v, dict) for v in alt.values()):
                    raise FilterError(
                        f"{where}: a FilterPolicy on message attributes has no nested keys "
                        "(set FilterPolicyScope: MessageBody to filter on the body)"
                    )
    if _count_keys(policy) > MAX_KEYS:
        raise FilterError(f"{where}: FilterPolicyLimitExceeded: more than {MAX_KEYS} keys")
    if len(json.dumps(policy)) > 256 * 1024:
        raise FilterError(f"{where}: FilterPolicy is over 256 KB")
    pattern = dict(policy)

    if scope == "MessageBody":

        def on_body(message: str, attributes: Mapping[str, Mapping[str, Any]]) -> bool:
            try:
                body = json.loads(message)
            except ValueError:
                return False
            return isinstance(body, dict) and matches(pattern, body)

        return on_body

    def on_attributes(message: str, attributes: Mapping[str, Mapping[str, Any]]) -> bool:
        return matches(pattern, attribute_document(attributes))

    return on_attributes
