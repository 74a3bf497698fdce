"""A saved template compared with the running one: what reload applies, what needs a restart.

``sam local start-api`` reads the template once; a change is seen only after a restart (SAM CLI
issues #1823, #3721, #2800). Reload on save (``eventflow_local.runtime.reload``) reads it again
and sorts the differences:

- applied in place (settings): a running function's ``Handler``, ``Environment``, ``Timeout``,
  ``MemorySize``, ``Runtime``, ``CodeUri``, ``Layers``, ``InlineCode``, ...: its workers are
  retired and the next invocation starts one with the new settings, rebuilt first when the code
  folder, the runtime or the layers changed; a changed ``LayerVersion`` rebuilds the functions
  that use it; a new function (with ``up``) is built, started and reachable through the Lambda
  Invoke API.
- applied in place (structure, ``eventflow_local.reapply``): a function's events (API
  routes, event source mappings, subscriptions, rules, schedules, notifications), an API's
  definition, a removed function, a new table, queue, topic, Kinesis stream, bucket, event bus or
  secret (created, its physical name resolved in the functions' environment), a rule, schedule or
  subscription resource, a bucket's ``NotificationConfiguration``, a topic's ``Subscription``.
  A resource removed from the template is kept: local data is not deleted.
- named as needing a restart: any other change of a resource (a table's ``KeySchema``, a
  queue's attributes, ...: CloudFormation would update or replace it, each property's "Update
  requires" in its reference page, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/
  using-cfn-updating-stacks-update-behaviors.html; here it stays as created),
  a resource of another type added, removed or changed, ``Globals`` other than ``Function``,
  ``Api`` and ``HttpApi`` (those two are applied with the routes), ``Conditions``.

IAM roles and policies, ``Lambda::Permission`` and log groups are not compared: nothing local
depends on them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
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
#: created by reload when added (services/startup.py); kept when removed
CREATED_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::Serverless::SimpleTable",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::Kinesis::Stream",
        "AWS::S3::Bucket",
        "AWS::Events::EventBus",
        "AWS::SecretsManager::Secret",
    }
)
#: the API server's: the route table is built again
API_PREFIXES = ("AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGateway")
#: the event sources': they are started again
SOURCE_TYPES = frozenset(
    {"AWS::Events::Rule", "AWS::Scheduler::Schedule", "AWS::SNS::Subscription"}
)
#: properties of a created resource that only its event sources read
SOURCE_PROPERTIES = {
    "AWS::S3::Bucket": {"NotificationConfiguration"},
    "AWS::SNS::Topic": {"Subscription"},
}
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
    #: running functions whose events changed (their routes and sources are made again)
    events: set[str] = field(default_factory=set)
    #: running functions no longer in the template (stopped)
    removed: set[str] = field(default_factory=set)
    #: new resources to create (CREATED_TYPES)
    created: list[str] = field(default_factory=list)
    #: resources no longer in the template, kept as they are
    kept: list[str] = field(default_factory=list)
    #: API resources added, removed or changed: the route table is built again
    apis: list[str] = field(default_factory=list)
    #: rule, schedule, subscription or notification resources changed: sources start again
    sources: list[str] = field(default_factory=list)
    #: resources whose change is named in ``restart`` (they stay as running)
    unapplied: set[str] = field(default_factory=set)

    @property
    def structure(self) -> bool:
        """Routes, sources or resources change (``eventflow_local/reapply.py`` applies them)."""
        return bool(
            self.events or self.removed or self.created or self.apis or self.sources or self.added
        )

    @property
    def empty(self) -> bool:
        return not (self.respecified or self.rebuild or self.restart or self.structure or self.kept)


def resources(template: SamTemplate) -> dict[str, dict[str, Any]]:
    """The template's resources as written (what ``compare`` compares with)."""
    resources = template.sam_doc.get("Resources") or {}
    return {k: v for k, v in resources.items() if isinstance(v, dict)}


def compare(
    started: SamTemplate,
    fresh: SamTemplate,
    running: Mapping[str, FunctionSpec],
    *,
    started_events: Mapping[str, str],
    can_add: bool,
    started_resources: Mapping[str, Any] | None = None,
    not_selected: Collection[str] | None = None,
) -> TemplateChanges:
    """``started``: the template the stack started with; ``running``: the specs the functions
    run now; ``started_events``: their events as running (``events_key``); ``can_add``: new
    functions may start in place (``up``, not ``start-api``); ``started_resources``: the
    resources as running (``resources``; default: ``started``'s); ``not_selected``: the
    functions left out at start (``start-api --functions``; default: those not ``running``)."""
    changes = TemplateChanges()
    specs = fresh.functions()
    known = set(started.functions()) - set(running) if not_selected is None else set(not_selected)
    for lid, spec in specs.items():
        old = running.get(lid)
        if old is None:
            if lid in known:
                continue  # a function not selected at start (start-api) stays out
            if can_add:
                changes.added[lid] = spec
            else:
                changes.restart.append(f"function {lid} added")
            continue
        if events_key(fresh, spec) != started_events.get(lid):
            changes.events.add(lid)
        before, after = _settings(old), _settings(spec)
        if before != after:
            changes.respecified[lid] = spec
            if any(before[f] != after[f] for f in BUILD_FIELDS):
                changes.rebuild.add(lid)
    for lid in running:
        if lid not in specs:
            changes.removed.add(lid)
    old_res = dict(resources(started) if started_resources is None else started_resources)
    new_res = resources(fresh)
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
        _sort_resource(changes, lid, kind, what, before_r or {}, after_r or {})
    for section in ("Globals", "Conditions"):
        before_s = dict(started.sam_doc.get(section) or {})
        after_s = dict(fresh.sam_doc.get(section) or {})
        if section == "Globals":
            before_s.pop("Function", None)
            after_s.pop("Function", None)
        for key in sorted(before_s.keys() | after_s.keys()):
            if _canonical(before_s.get(key)) == _canonical(after_s.get(key)):
                continue
            if section == "Globals" and key in ("Api", "HttpApi"):
                changes.apis.append(f"{section}.{key} changed")  # the routes are built again
            else:
                changes.restart.append(f"{section}.{key} changed")
    return changes


def _sort_resource(
    changes: TemplateChanges,
    lid: str,
    kind: str,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Where one added, removed or changed resource goes (see the module docstring)."""
    name = f"{kind.rsplit('::', 1)[-1]} {lid}"
    if kind.startswith(API_PREFIXES):
        changes.apis.append(f"{name} {what}")
    elif kind in SOURCE_TYPES:
        changes.sources.append(f"{name} {what}")
    elif kind in CREATED_TYPES and what == "added":
        changes.created.append(lid)
    elif kind in CREATED_TYPES and what == "removed":
        changes.kept.append(lid)
    elif kind in CREATED_TYPES:
        old, new = before.get("Properties") or {}, after.get("Properties") or {}
        differ = sorted(
            k for k in old.keys() | new.keys() if _canonical(old.get(k)) != _canonical(new.get(k))
        )
        if before.get("Type") != after.get("Type"):
            differ.insert(0, "Type")
        if differ and set(differ) <= SOURCE_PROPERTIES.get(kind, set()):
            changes.sources.append(f"{name} {', '.join(differ)}")
        else:
            changes.restart.append(f"{name} changed ({', '.join(differ) or 'attributes'})")
            changes.unapplied.add(lid)
    else:
        changes.restart.append(f"{name} {what}")
        changes.unapplied.add(lid)


def new_resources(running: Mapping[str, Any], fresh: SamTemplate) -> list[str]:
    """The resources of ``fresh`` to create (``CREATED_TYPES``) that do not run yet."""
    return [
        lid
        for lid, resource in resources(fresh).items()
        if lid not in running and resource.get("Type") in CREATED_TYPES
    ]
