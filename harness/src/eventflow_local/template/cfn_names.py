"""The names and identifiers CloudFormation gives a resource the template does not name.

A name the template does not declare is the one CloudFormation generates
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html):
``<stack name>-<logical id>-<random>``, truncated to the service's limit, here with a suffix
derived from the stack and logical id so that every start gives the same value. Identifiers the
service itself assigns (an API id, a key id, a user pool id) are derived the same way, in the
service's alphabet and length. The account is ``eventflow_local.aws.LOCAL_ACCOUNT``.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.aws import LOCAL_ACCOUNT

#: a resolved property of the resource being described (None when the template does not set it)
Prop = Callable[[str], Any]


@dataclass(frozen=True)
class Scope:
    """The stack the resource belongs to."""

    region: str
    stack_name: str
    account: str = LOCAL_ACCOUNT

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


@dataclass(frozen=True)
class ResourceValues:
    """``Ref`` and the ``Fn::GetAtt`` attributes of one resource. ``unvalued``: attributes
    CloudFormation accepts that have no meaningful local value (creation dates, counters);
    they resolve as ``<LogicalId>.<Attribute>``, as an unknown resource does."""

    ref: Any
    attributes: Mapping[str, Any]
    unvalued: frozenset[str] = field(default_factory=frozenset)


UPPER = string.ascii_uppercase + string.digits
LOWER = string.ascii_lowercase + string.digits
MIXED = string.ascii_letters + string.digits


def generated_id(scope: Scope, logical_id: str, length: int, alphabet: str, salt: str = "") -> str:
    """A deterministic identifier of ``length`` characters of ``alphabet`` for one resource."""
    digest = hashlib.sha256(f"{scope.stack_name}/{logical_id}/{salt}".encode()).digest()
    number = int.from_bytes(digest * 2, "big")
    out = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        out.append(alphabet[index])
    return "".join(out)


def generated_uuid(scope: Scope, logical_id: str, salt: str = "") -> str:
    raw = generated_id(scope, logical_id, 32, "0123456789abcdef", salt)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def generated_name(
    scope: Scope, logical_id: str, limit: int, *, lower: bool = False, tail: str = ""
) -> str:
    """``<stack>-<logicalId>-<RANDOM>`` as CloudFormation names a resource, at most ``limit``
    characters (with ``tail``, e.g. ``.fifo``); stack name and logical id are shortened alike
    when they do not fit."""
    suffix = generated_id(scope, logical_id, 12, LOWER if lower else UPPER)
    stack, lid = scope.stack_name, logical_id
    room = limit - len(suffix) - len(tail) - 2
    while len(stack) + len(lid) > room and (stack or lid):
        if len(stack) >= len(lid):
            stack = stack[:-1]
        else:
            lid = lid[:-1]
    name = f"{stack}-{lid}-{suffix}{tail}"
    return name.lower() if lower else name


def name_or_generated(scope: Scope, lid: str, prop: Prop, key: str, limit: int, **kw: Any) -> str:
    declared = prop(key)
    return str(declared) if declared not in (None, "") else generated_name(scope, lid, limit, **kw)


def name_of(value: Any, sep: str = ":") -> str:
    """A name from a name-or-ARN property."""
    return str(value).rsplit(sep, 1)[-1] if str(value).startswith("arn:") else str(value)


def function_arn_of(scope: Scope, value: Any) -> str:
    text = str(value)
    if text.startswith("arn:"):
        return text
    return scope.arn("lambda", f"function:{text}")
