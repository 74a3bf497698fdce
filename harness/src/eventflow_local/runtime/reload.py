"""Reload on save: a saved function, layer or template is used without restarting the harness.

``sam local start-api`` keeps serving the code it started with in some setups and reads the
template once (SAM CLI issues #1823, #3721, #2800); here a ``Reloader`` watches what the running
functions read (``eventflow_local.runtime.watch``) and applies each save:

- a file of a function's ``CodeUri`` or of one of its layers' folders: that function's idle
  workers end at once, its busy ones when their invocation ends, and one fresh worker imports
  the new code right away, so the next invocation runs it (``FunctionRuntime.reload``). The other
  functions keep their warm workers. Code that no longer imports answers as Lambda does,
  ``Runtime.UserCodeSyntaxError`` or ``Runtime.ImportModuleError``
  (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html), until a save fixes it.
- a ``requirements.txt`` (a function's or a ``BuildMethod: python3.x`` layer's), or any file of a
  ``BuildMethod: makefile`` layer: the function or layer is built again in the background, as
  ``sam build`` would (``eventflow_local.runtime.build``), while the running workers go on
  serving; once built, the functions that use it are reloaded. A failed build is one line and
  the function keeps its previous build, as a failed ``sam build`` leaves the deployed function.
- the template: read again and compared (``eventflow_local.runtime.replan``): settings of running
  functions, new and removed functions, API routes, event sources and new resources are applied
  (``eventflow_local.reapply``), the rest is named in one line as needing a restart. A
  template that no longer reads is one line and the running stack keeps the previous one.

Each reload is one line in the log (``reload: ...``) and an entry of the console's activity.
A ``.zip`` ``CodeUri`` is not watched (its unpacked copy is the harness's own).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from eventflow_local.runtime.build import CACHE_FOLDER, TemplateBuild, cache_dir_for
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.runtime.replan import (
    TemplateChanges,
    compare,
    events_key,
    new_resources,
    resources,
)
from eventflow_local.runtime.watch import POLL_INTERVAL_S, Watcher
from eventflow_local.template.kafka import local_kafka_parameters
from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import FunctionSpec

Log = Callable[[str], None]
#: files of a layer's or function's folder that are built, not imported
BUILD_FILES = frozenset({"requirements.txt"})


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def layer_folders(template: Any, spec: FunctionSpec) -> list[tuple[Path, str]]:
    """The local folders of a function's template layers and their ``BuildMethod``."""
    out: list[tuple[Path, str]] = []
    for entry in spec.layers:
        found = template.layer_resource(str(entry))
        if found is None:
            continue
        _, resource = found
        props = template.resolve(resource.get("Properties", {}))
        content = props.get("ContentUri", props.get("Content"))
        if not isinstance(content, str) or content.startswith("s3://"):
            continue
        written = template.sam_doc["Resources"].get(str(entry)) or resource
        method = str((written.get("Metadata") or {}).get("BuildMethod") or "")
        out.append(((template.root / content).resolve(), method))
    return out


class Structure(Protocol):
    """How a saved template's routes, sources and resources are applied to the stack
    (``eventflow_local.reapply``, a layer above this one: the stack hands it over as
    ``stack.structure``)."""

    def delivery_key(self, template: SamTemplate, running: Iterable[str]) -> str: ...
    def create_resources(
        self, stack: Any, declared: SamTemplate
    ) -> tuple[SamTemplate, list[str]]: ...
    def kept_phrases(self, started: dict[str, Any], lids: Iterable[str]) -> list[str]: ...
    def apply(
        self, stack: Any, changes: TemplateChanges, fresh: SamTemplate, deliveries_before: str
    ) -> tuple[list[str], str]: ...


class Reloader:
    """Watches a started ``Stack``'s functions and template and applies each save to it
    (``up`` and ``start-api`` start one after the stack, unless ``--no-reload``; it is stopped
    before the stack).

    ``stack`` is used for what it already holds: ``template``, ``template_path``,
    ``extra_parameters``, ``region``, ``bootstrap_servers``, ``runtimes``, ``lambda_api``,
    ``only``, ``activity``, ``function_environment``, ``log`` and ``structure``.
    """

    def __init__(self, stack: Any, *, interval: float = POLL_INTERVAL_S) -> None:
        self.stack = stack
        self.log: Log = stack.log
        self.template_path = Path(stack.template_path)
        self.cache = cache_dir_for(self.template_path)
        #: what the API server, the event sources and the created resources were built from
        self.started = stack.template
        self.started_events = {
            lid: events_key(stack.template, rt.spec) for lid, rt in stack.runtimes.items()
        }
        self.structure: Structure = stack.structure
        #: the resources as running, and the functions left out at start (``--functions``)
        self.running_resources = resources(stack.template)
        self.not_selected = set(stack.template.functions()) - set(stack.runtimes)
        self.deliveries = self.structure.delivery_key(stack.template, stack.runtimes)
        self.watcher = Watcher(self.roots, self.on_change, interval=interval, log=self.log)
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._builder = threading.Thread(target=self._build_loop, name="reload-build", daemon=True)
        #: reloads applied so far (tests and the bench wait on it)
        self.count = 0
        self._stopped = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Reloader:
        self._builder.start()
        self.watcher.start()
        return self

    def stop(self) -> None:
        """No reload after this returns: a build under way finishes on its own and is not
        applied (the stack is stopping)."""
        self._stopped.set()
        self.watcher.stop()
        self._jobs.put(None)
        self._builder.join(timeout=5)

    def _build_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stopped.is_set():
                return
            try:
                job()
            except Exception as exc:  # a build must never end the reloading
                self._said(f"reload: failed: {type(exc).__name__}: {exc}", [], ok=False)

    # ------------------------------------------------------------------ what is watched
    def _runtimes(self) -> dict[str, FunctionRuntime]:
        return dict(self.stack.runtimes)

    def roots(self) -> list[Path]:
        roots = {self.template_path}
        for runtime in self._runtimes().values():
            spec = runtime.spec
            if spec.inline_code is None and CACHE_FOLDER not in spec.code_uri.parts:
                roots.add(Path(spec.code_uri).resolve())
            roots.update(folder for folder, _ in layer_folders(self.stack.template, spec))
        return [r for r in roots if r.exists()]

    # ------------------------------------------------------------------ a save
    def on_change(self, changed: set[Path]) -> None:
        if self.template_path in changed:
            # on the builder thread: one template change at a time, after the functions a
            # previous one added are started
            self._jobs.put(self.replan)
            changed = changed - {self.template_path}
        code: dict[str, set[Path]] = {}
        build: dict[str, set[Path]] = {}
        for lid, runtime in self._runtimes().items():
            spec = runtime.spec
            if spec.inline_code is None:
                root = Path(spec.code_uri).resolve()
                for path in (p for p in changed if _under(p, root)):
                    target = build if path.parent == root and path.name in BUILD_FILES else code
                    target.setdefault(lid, set()).add(path)
            for folder, method in layer_folders(self.stack.template, spec):
                for path in (p for p in changed if _under(p, folder)):
                    built = method == "makefile" or (
                        path.parent == folder and path.name in BUILD_FILES and bool(method)
                    )
                    (build if built else code).setdefault(lid, set()).add(path)
        for lid in build:
            code.pop(lid, None)  # reloaded once its build is done
        if code:
            # said first: an invocation that already runs the new code finds the line logged
            files = self._names(set().union(*code.values()))
            self._said(
                f"reload: {files} saved: new code for {', '.join(sorted(code))} "
                "from the next invocation",
                sorted(code),
            )
            for lid in code:
                self.stack.runtimes[lid].reload()
        if build:
            files = self._names(set().union(*build.values()))
            self._jobs.put(lambda: self.rebuild(set(build), f"{files} saved"))

    def _names(self, paths: Iterable[Path]) -> str:
        root = self.template_path.parent
        names = sorted(str(p.relative_to(root)) if _under(p, root) else str(p) for p in paths)
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    def _said(self, line: str, functions: list[str], *, ok: bool = True) -> None:
        self.count += 1
        self.log(line)
        record = getattr(self.stack.activity, "record_reload", None)
        if record is not None:
            record(functions, line, ok=ok)

    # ------------------------------------------------------------------ builds
    def rebuild(
        self, lids: set[str], why: str, specs: dict[str, FunctionSpec] | None = None
    ) -> None:
        """Build ``lids`` again (on the builder thread), then reload them; ``specs``: new
        settings to run them with (a template change), else their current ones."""
        runtimes = self._runtimes()
        specs = {lid: (specs or {}).get(lid) or runtimes[lid].spec for lid in lids}
        names = ", ".join(sorted(specs))
        self.log(
            f"reload: {why}: building {names} in the background; "
            "the running workers serve until it is done"
        )
        started = time.monotonic()
        quiet: list[str] = []
        plans = TemplateBuild(self.stack.template, self.cache, log=quiet.append).prepare(specs)
        if self._stopped.is_set():
            return
        failed = {lid: plan.error for lid, plan in plans.items() if plan.error}
        for lid, plan in plans.items():
            if plan.error is None:
                env = self.stack.function_environment(lid)
                runtimes[lid].reload(
                    spec=specs[lid],
                    env=env,
                    import_paths=plan.paths,
                    python=plan.interpreter.path,
                    init_error=None,
                )
        took = time.monotonic() - started
        if failed:
            message = next(iter(failed.values())) or {}
            self._said(
                f"reload: build of {', '.join(sorted(failed))} failed after {took:.1f} s: "
                f"{message.get('errorMessage')}; it keeps its previous build",
                sorted(failed),
                ok=False,
            )
        reloaded = sorted(set(plans) - set(failed))
        if reloaded:
            self._said(
                f"reload: built {', '.join(reloaded)} in {took:.1f} s: "
                "the next invocation uses the new build",
                reloaded,
            )

    # ------------------------------------------------------------------ the template
    def replan(self) -> None:
        """Read the template again and apply what can be applied in place (on the builder
        thread, so that two saves apply in turn)."""
        stack = self.stack
        name = self.template_path.name
        try:
            # read as the stack read it (planning.read_template), with the resources it made
            local = local_kafka_parameters(
                self.template_path, stack.bootstrap_servers, stack.region
            )
            declared = SamTemplate(
                self.template_path, local | dict(stack.extra_parameters), region=stack.region
            )
            fresh = declared.with_physical_ids(stack.template.attributes)
            refused: list[str] = []
            if new_resources(self.running_resources, declared):
                fresh, refused = self.structure.create_resources(stack, declared)
            changes = compare(
                self.started,
                fresh,
                {lid: rt.spec for lid, rt in self._runtimes().items()},
                started_events=self.started_events,
                can_add=stack.only is None and stack.lambda_api is not None,
                started_resources=self.running_resources,
                not_selected=self.not_selected,
            )
        except Exception as exc:  # a template that does not read: the running one stays
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self._said(f"reload: {name} not applied (the previous one runs): {first}", [], ok=False)
            return
        stack.template = fresh
        applied: list[str] = []
        for lid, spec in changes.respecified.items():
            if lid not in changes.rebuild:
                stack.runtimes[lid].reload(spec=spec, env=stack.function_environment(lid))
                applied.append(f"{lid} settings")
        rebuild = {lid: changes.respecified[lid] for lid in changes.rebuild}
        if rebuild:
            self._jobs.put(lambda: self.rebuild(set(rebuild), f"{name} saved", rebuild))
            applied.append(f"{', '.join(sorted(rebuild))} rebuilt in the background")
        applied += self.structure.kept_phrases(self.running_resources, changes.kept)
        applied += [f"refused: {line}" for line in refused]
        self.restructure(changes, fresh, applied)

    def restructure(self, changes: TemplateChanges, fresh: SamTemplate, applied: list[str]) -> None:
        """Start the new functions, apply the routes, sources and resources of ``fresh``, keep
        it as what runs, and say the reload's one line."""
        stack = self.stack
        applied = list(applied)
        started = self.add_functions(dict(changes.added)) if changes.added else []
        if started:
            applied.append(f"new {', '.join(started)} (Lambda Invoke API)")
        ok = not changes.restart
        if changes.structure and not self._stopped.is_set():
            try:
                said, self.deliveries = self.structure.apply(stack, changes, fresh, self.deliveries)
                applied += said
            except Exception as exc:  # the rest of the stack runs on; say what failed
                applied.append(f"routes and sources failed: {type(exc).__name__}: {exc}")
                ok = False
        for lid in changes.events | set(changes.added):
            self.started_events[lid] = events_key(fresh, fresh.functions()[lid])
        for lid in changes.removed:
            self.started_events.pop(lid, None)
        running = resources(fresh)
        for lid in changes.unapplied:  # named for a restart: stays as it runs
            if lid in self.running_resources:
                running[lid] = self.running_resources[lid]
            else:
                running.pop(lid, None)
        self.running_resources = running
        parts = [f"applied: {'; '.join(applied)}"] if applied else []
        if changes.restart:
            parts.append(f"restart to apply: {'; '.join(changes.restart)}")
        summary = ". ".join(parts) or "nothing that runs changed"
        functions = sorted({*changes.respecified, *changes.added, *changes.removed})
        name = self.template_path.name
        self._said(f"reload: {name} saved: {summary}", functions, ok=ok)

    def add_functions(self, specs: dict[str, FunctionSpec]) -> list[str]:
        """Build and start new functions, reachable by the Lambda Invoke API (on the builder);
        their names."""
        stack = self.stack
        quiet: list[str] = []
        plans = TemplateBuild(stack.template, self.cache, log=quiet.append).prepare(specs)
        if self._stopped.is_set():
            return []
        started: dict[str, FunctionRuntime] = {}
        for lid, plan in plans.items():
            runtime = FunctionRuntime(
                specs[lid],
                stack.function_environment(lid),
                plan.paths,
                python=plan.interpreter.path,
                init_error=plan.error,
                log=stack.log,
                recorder=stack.activity.record,
            )
            runtime.start()
            started[lid] = runtime
        stack.runtimes.update(started)
        if stack.lambda_api is not None:
            stack.lambda_api.register(started)
        return sorted(started)
