"""A saved template compared with the running one: what reload applies, what needs a restart.

``sam local start-api`` reads the template once; a change is seen only after a restart (SAM CLI
issues #1823, #3721, #2800). Reload on save (``eventflow_local.runtime.reload``) reads it again
and sorts the differences:

- applied in place: a running function's settings (``Handler``, ``Environment``, ``Timeout``,
  ``MemorySize``, ``Runtime``, ``CodeUri``, ``Layers``, ``InlineCode``, ...): its workers are
  retired and the next invocation starts one with the new settings, rebuilt first when the code
  folder, the runtime or the layers changed; a changed ``LayerVersion`` rebuilds the functions
  that use it; a new function (with ``up``) is built, started and reachable through the Lambda
  Invoke API.
- named as needing a restart: a function's events (API routes, event source mappings,
  schedules...), a removed function, a resource other than a function or a layer added, removed
  or changed (tables, queues, topics, APIs...), ``Globals`` other than ``Function``,
  ``Conditions``. The API server, the event sources and the created resources are built once at
  start, so the running stack keeps its previous routes, sources and resources until then.

IAM roles and policies, ``Lambda::Permission`` and log groups are not compared: nothing local
depends on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import FunctionSpec

FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
LAYER_TYPES = frozenset({"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"})
#: compared as a function's events, not as resources of their own
EVENT_TYPES = frozenset({"AWS::Lambda::EventSourceMapping"})
#: no local effect
IGNORED_TYPES = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
    }
)
#: settings that need the function built again (its import path depends on them)
BUILD_FIELDS = ("code_uri", "runtime", "layers")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def events_key(template: SamTemplate, spec: FunctionSpec) -> str:
    """A function's events, comparable across two readings of the template: its SAM ``Events``
    as written (SAM's transform makes APIs, rules and mappings of them) and its event source
    mappings as read."""
    written = (template.sam_doc.get("Resources") or {}).get(spec.logical_id) or {}
    events = (written.get("Properties") or {}).get("Events") if isinstance(written, dict) else None
    mappings = sorted((e.name, e.type, _canonical(e.properties)) for e in spec.events)
    return _canonical([events, mappings])


def _settings(spec: FunctionSpec) -> dict[str, Any]:
    props = {k: v for k, v in spec.properties.items() if k != "Events"}
    return {
        "code_uri": str(spec.code_uri),
        "handler": spec.handler,
        "runtime": spec.runtime,
        "timeout": spec.timeout,
        "memory_size": spec.memory_size,
        "environment": spec.environment,
        "layers": list(spec.layers),
        "inline_code": spec.inline_code,
        "properties": _canonical(props),
    }


@dataclass
class TemplateChanges:
    """What differs between the running template and the saved one."""

    #: running functions whose settings changed -> their new spec
    respecified: dict[str, FunctionSpec] = field(default_factory=dict)
    #: of those (and of the functions of a changed layer), the ones to build again
    rebuild: set[str] = field(default_factory=set)
    #: new functions that can be started in place
    added: dict[str, FunctionSpec] = field(default_factory=dict)
    #: one phrase per change that takes effect only after a restart
    restart: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.respecified or self.rebuild or self.added or self.restart)


def _resources(template: SamTemplate) -> dict[str, dict[str, Any]]:
    resources = template.sam_doc.get("Resources") or {}
    return {k: v for k, v in resources.items() if isinstance(v, dict)}


def compare(
    started: SamTemplate,
    fresh: SamTemplate,
    running: Mapping[str, FunctionSpec],
    *,
    started_events: Mapping[str, str],
    can_add: bool,
) -> TemplateChanges:
    """``started``: the template the stack started with (its routes, sources and resources run);
    ``running``: the specs the functions run now; ``started_events``: their events at start
    (``events_key``); ``can_add``: new functions may start in place (``up``, not ``start-api``)."""
    changes = TemplateChanges()
    specs = fresh.functions()
    known = set(started.functions())
    for lid, spec in specs.items():
        old = running.get(lid)
        if old is None:
            if lid in known:
                continue  # a function not selected at start (start-api) stays out
            if can_add:
                changes.added[lid] = spec
                if spec.events:
                    changes.restart.append(f"the events of the new function {lid}")
            else:
                changes.restart.append(f"function {lid} added")
            continue
        if events_key(fresh, spec) != started_events.get(lid):
            changes.restart.append(f"the events of {lid} (routes, sources)")
        before, after = _settings(old), _settings(spec)
        if before != after:
            changes.respecified[lid] = spec
            if any(before[f] != after[f] for f in BUILD_FIELDS):
                changes.rebuild.add(lid)
    for lid in running:
        if lid not in specs:
            changes.restart.append(f"function {lid} removed (it runs until then)")
    old_res, new_res = _resources(started), _resources(fresh)
    for lid in sorted(old_res.keys() | new_res.keys()):
        before_r, after_r = old_res.get(lid), new_res.get(lid)
        if _canonical(before_r) == _canonical(after_r):
            continue
        kind = str((after_r or before_r or {}).get("Type") or "")
        if kind in FUNCTION_TYPES | EVENT_TYPES | IGNORED_TYPES:
            continue
        if kind in LAYER_TYPES:
            users = {f for f, s in running.items() if lid in [str(e) for e in s.layers]}
            for user in users:
                changes.respecified.setdefault(user, specs.get(user) or running[user])
            changes.rebuild |= users
            continue
        what = "added" if before_r is None else "removed" if after_r is None else "changed"
        changes.restart.append(f"{kind.rsplit('::', 1)[-1]} {lid} {what}")
    for section in ("Globals", "Conditions"):
        before_s = dict(started.sam_doc.get(section) or {})
        after_s = dict(fresh.sam_doc.get(section) or {})
        if section == "Globals":
            before_s.pop("Function", None)
            after_s.pop("Function", None)
        for key in sorted(before_s.keys() | after_s.keys()):
            if _canonical(before_s.get(key)) != _canonical(after_s.get(key)):
                changes.restart.append(f"{section}.{key} changed")
    return changes
