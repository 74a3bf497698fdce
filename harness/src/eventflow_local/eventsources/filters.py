"""Lambda's event filtering grammar, once, for every event source.

AWS pages: "Control which events Lambda sends to your function" (the grammar: exact values,
``prefix``, ``suffix``, ``anything-but`` with value lists or ``prefix``/``suffix``/``wildcard``
operands, ``numeric``, ``exists``, ``equals-ignore-case``, ``wildcard``, ``$or``, nested keys,
arrays), "Filtering events from Amazon MSK and self-managed Apache Kafka event sources" (Kafka
filters on the ``value`` key only; a value that is valid JSON is matched as JSON, a plain string
value is matched as a string, so ``{"value": [{"prefix": "Order"}]}`` matches ``Order-1``) and
"Using event filtering with a DynamoDB event source" (patterns over the record's keys:
``eventName``, ``dynamodb.Keys``/``NewImage``/``OldImage`` in DynamoDB JSON).

``compile_filters(criteria, source)`` validates the patterns (``FilterError`` names what is wrong)
and returns a predicate over the document the source filters on, or None when there is nothing to
filter. A record passes when any one filter matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "KAFKA_METADATA_KEYS",
    "FilterError",
    "compile_filters",
    "compile_patterns",
    "kafka_metadata_keys",
    "matches",
    "passes",
]

MAX_FILTERS = 10  # "Lambda event filtering quotas": 5 by default, raisable to 10


class FilterError(ValueError):
    """A FilterCriteria pattern is invalid or uses an operator Lambda does not have."""


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_STRING_OPS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_BUT_OPS = ("prefix", "suffix", "wildcard", "equals-ignore-case")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# ----------------------------------------------------------------------------------- checking
def _check_string_op(op: str, arg: Any, where: str) -> None:
    if op in ("prefix", "suffix") and isinstance(arg, dict):
        if set(arg) != {"equals-ignore-case"} or not isinstance(arg["equals-ignore-case"], str):
            raise FilterError(f"{where}: {op} takes a string or {{'equals-ignore-case': str}}")
        return
    if not isinstance(arg, str):
        raise FilterError(f"{where}: {op} takes a string, got {arg!r}")
    if op == "wildcard" and "**" in arg:
        raise FilterError(f"{where}: wildcard does not allow consecutive '*'")


def _check_matcher(m: Any, where: str) -> None:
    if m is None or isinstance(m, str | bool) or _is_number(m):
        return
    if not isinstance(m, dict) or len(m) != 1:
        raise FilterError(f"{where}: a matcher is a value or a one-key object, got {m!r}")
    ((op, arg),) = m.items()
    if op in _STRING_OPS:
        _check_string_op(op, arg, where)
    elif op == "exists":
        if not isinstance(arg, bool):
            raise FilterError(f"{where}: exists takes true or false")
    elif op == "numeric":
        if not isinstance(arg, list) or len(arg) not in (2, 4):
            raise FilterError(f"{where}: numeric takes [op, n] or [op, n, op, n]")
        for i in range(0, len(arg), 2):
            if arg[i] not in _NUMERIC_OPS or not _is_number(arg[i + 1]):
                raise FilterError(f"{where}: bad numeric condition {arg!r}")
    elif op == "anything-but":
        if isinstance(arg, dict):
            if len(arg) != 1 or next(iter(arg)) not in _BUT_OPS:
                raise FilterError(f"{where}: unsupported anything-but operand {arg!r}")
            ((sub, subarg),) = arg.items()
            if isinstance(subarg, list) and sub == "equals-ignore-case":
                if not all(isinstance(s, str) for s in subarg):
                    raise FilterError(f"{where}: anything-but equals-ignore-case takes strings")
            else:
                _check_string_op(sub, subarg, where)
            return
        items = arg if isinstance(arg, list) else [arg]
        if not items:
            raise FilterError(f"{where}: anything-but takes a value or a non-empty list")
        for item in items:
            if not (isinstance(item, str) or _is_number(item)):
                raise FilterError(f"{where}: anything-but takes strings or numbers, got {item!r}")
    else:
        raise FilterError(f"{where}: unsupported filter operator {op!r}")


def _check_pattern(node: Any, where: str) -> None:
    if isinstance(node, list):
        if not node:
            raise FilterError(f"{where}: empty matcher list")
        for m in node:
            _check_matcher(m, where)
    elif isinstance(node, dict):
        if not node:
            raise FilterError(f"{where}: empty pattern object")
        for key, child in node.items():
            if key == "$or":
                if not isinstance(child, list) or len(child) < 2:
                    raise FilterError(f"{where}: $or takes a list of at least two patterns")
                for alt in child:
                    if not isinstance(alt, dict):
                        raise FilterError(f"{where}: $or alternatives must be objects")
                    _check_pattern(alt, where)
            else:
                _check_pattern(child, f"{where}.{key}")
    else:
        raise FilterError(f"{where}: pattern leaves must be lists of matchers, got {node!r}")


# ----------------------------------------------------------------------------------- matching
def _wildcard(pattern: str, v: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, v, re.DOTALL) is not None


def _string_op(op: str, arg: Any, v: Any) -> bool:
    if not isinstance(v, str):
        return False
    if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "ab"}}
        arg, v = arg["equals-ignore-case"].lower(), v.lower()
    if op == "prefix":
        return v.startswith(arg)
    if op == "suffix":
        return v.endswith(arg)
    if op == "equals-ignore-case":
        return v.lower() == arg.lower()
    return _wildcard(arg, v)


def _anything_but(arg: Any, v: Any) -> bool:
    if isinstance(v, dict | list) or v is None:
        return False
    if isinstance(arg, dict):
        ((sub, subarg),) = arg.items()
        if not isinstance(v, str):
            return True
        if sub == "equals-ignore-case":
            options = subarg if isinstance(subarg, list) else [subarg]
            return all(v.lower() != o.lower() for o in options)
        return not _string_op(sub, subarg, v)
    items = arg if isinstance(arg, list) else [arg]
    return not any(_match_scalar(item, v) for item in items)


def _match_scalar(m: Any, v: Any) -> bool:
    if m is None:
        return v is None
    if isinstance(m, bool):
        return isinstance(v, bool) and v == m
    if _is_number(m):
        return _is_number(v) and v == m
    if isinstance(m, str):
        return isinstance(v, str) and v == m
    ((op, arg),) = m.items()
    if op in _STRING_OPS:
        return _string_op(op, arg, v)
    if op == "numeric":
        if not _is_number(v):
            return False
        return all(_NUMERIC_OPS[arg[i]](v, arg[i + 1]) for i in range(0, len(arg), 2))
    if op == "anything-but":
        return _anything_but(arg, v)
    return False


def _match_leaf(matchers: list[Any], present: bool, value: Any) -> bool:
    for m in matchers:
        if isinstance(m, dict) and "exists" in m:
            if present == m["exists"]:
                return True
            continue
        if not present:
            continue
        if isinstance(value, list):
            if any(_match_scalar(m, item) for item in value):
                return True
        elif _match_scalar(m, value):
            return True
    return False


def _match(pattern: Any, present: bool, value: Any) -> bool:
    if isinstance(pattern, list):
        return _match_leaf(pattern, present, value)
    if present and isinstance(value, list):  # arrays of objects: any element may match
        return any(_match(pattern, True, item) for item in value)
    is_obj = present and isinstance(value, dict)
    for key, child in pattern.items():
        if key == "$or":
            if not any(_match(alt, present, value) for alt in child):
                return False
            continue
        child_present = is_obj and key in value
        if not _match(child, child_present, value[key] if child_present else None):
            return False
    return True


def matches(pattern: Mapping[str, Any], document: Any) -> bool:
    """True when ``document`` matches one (already checked) ``pattern``."""
    return _match(dict(pattern), True, document)


def passes(patterns: list[Mapping[str, Any]], document: Any) -> bool:
    """No patterns: everything passes; otherwise any one pattern must match ``document``."""
    return not patterns or any(matches(p, document) for p in patterns)


# ----------------------------------------------------------------------------------- compiling
def compile_patterns(
    criteria: Mapping[str, Any] | None, *, allowed_keys: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """The checked patterns of a ``FilterCriteria`` (``[]`` when there is none)."""
    if criteria is None or criteria == {}:
        return []
    if not isinstance(criteria, Mapping):
        raise FilterError("FilterCriteria must be an object with a Filters list")
    filters = criteria.get("Filters")
    if not isinstance(filters, list) or not filters:
        raise FilterError("FilterCriteria needs a non-empty Filters list")
    if len(filters) > MAX_FILTERS:
        raise FilterError(f"FilterCriteria allows at most {MAX_FILTERS} filters")
    patterns: list[dict[str, Any]] = []
    for i, flt in enumerate(filters):
        raw = flt.get("Pattern") if isinstance(flt, Mapping) else None
        if isinstance(raw, str):
            try:
                pattern = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise FilterError(f"filter {i}: Pattern is not valid JSON: {exc}") from exc
        elif isinstance(raw, Mapping):
            pattern = dict(raw)
        else:
            raise FilterError(f"filter {i}: Pattern must be a JSON string")
        if not isinstance(pattern, dict) or not pattern:
            raise FilterError(f"filter {i}: Pattern must be a non-empty JSON object")
        if allowed_keys is not None:
            other = sorted(set(pattern) - set(allowed_keys))
            if other:
                raise FilterError(
                    f"filter {i}: this event source only filters on {list(allowed_keys)}, "
                    f"not on {other}"
                )
        _check_pattern(pattern, f"filter {i}")
        patterns.append(pattern)
    return patterns


def kafka_value_document(value: bytes | None) -> Any:
    """What a Kafka filter sees as ``value``: the JSON value, else the plain string, else None."""
    if value is None:
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


#: the record fields a Kafka filter may name besides ``value``, as the event carries them. AWS's
#: page says Kafka mappings filter on ``value`` only, yet it deploys patterns that also name the
#: record's metadata and applies them (AWS's own sample app ``lambda-esm-msk-filters-sam`` filters
#: on ``topic`` and ``value``), so these keys are matched rather than refused.
KAFKA_METADATA_KEYS = ("topic", "partition", "offset", "timestamp", "timestampType")


def kafka_metadata_keys(criteria: Mapping[str, Any] | None) -> list[str]:
    """The metadata keys the Kafka patterns of ``criteria`` name (for the start-up note)."""
    try:
        patterns = compile_patterns(criteria, allowed_keys=("value", *KAFKA_METADATA_KEYS))
    except FilterError:
        return []
    return sorted({key for p in patterns for key in p if key != "value"})


def compile_filters(
    criteria: Mapping[str, Any] | None, source: str = "kafka"
) -> Callable[..., bool] | None:
    """A predicate for the source's records (None: no filtering).

    ``source="kafka"``: the predicate takes a record's raw value (bytes or None) and, when a
    pattern names them, the record's metadata (``{"topic": ..., "partition": ..., ...}``);
    ``value`` and the metadata keys may be filtered on. ``source="dynamodb"``: the predicate
    takes the record as Lambda delivers it (``eventName``, ``dynamodb`` ...).
    """
    if source == "kafka":
        patterns = compile_patterns(criteria, allowed_keys=("value", *KAFKA_METADATA_KEYS))
        if not patterns:
            return None

        def kafka_matches(value: bytes | None, metadata: Mapping[str, Any] | None = None) -> bool:
            document = kafka_value_document(value) if value else None
            if document is None:
                return False
            record = dict(metadata or {})
            record["value"] = document
            return any(_match(p, True, record) for p in patterns)

        return kafka_matches
    if source == "kinesis":
        return kinesis_filter(criteria)
    patterns = compile_patterns(criteria)
    if not patterns:
        return None
    return lambda document: passes(list(patterns), document)


def kinesis_filter(criteria: Mapping[str, Any] | None) -> Callable[..., bool] | None:
    """A predicate over a Kinesis record's data (bytes). AWS page "Using event filtering with a
    Kinesis event source": a Kinesis mapping filters on the ``data`` key only, and only data
    that is valid JSON can match; a record whose data is not JSON never matches a filter."""
    patterns = compile_patterns(criteria, allowed_keys=("data",))
    if not patterns:
        return None

    def kinesis_matches(data: bytes) -> bool:
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return False
        return any(_match(p, True, {"data": document}) for p in patterns)

    return kinesis_matches
