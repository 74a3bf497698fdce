"""The template's functions started: each built as ``sam build`` does (cached), then one warm
worker each, cold starts in parallel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from eventflow_local.runtime.build import TemplateBuild
from eventflow_local.runtime.functions import FunctionRuntime
from eventflow_local.runtime.invocation import InvocationResult
from eventflow_local.template.sam import SamTemplate
from eventflow_local.template.specs import FunctionSpec

Log = Callable[[str], None]


def select_functions(
    specs: Mapping[str, FunctionSpec], only: set[str] | None, template_name: str
) -> dict[str, FunctionSpec]:
    """The functions to start: all, or ``only`` (KeyError naming what the template lacks)."""
    unknown = (only or set()) - set(specs)
    if unknown:
        raise KeyError(
            f"no function {', '.join(sorted(unknown))} in {template_name} "
            f"(functions: {', '.join(sorted(specs))})"
        )
    return {lid: spec for lid, spec in specs.items() if only is None or lid in only}


def start_functions(
    template: SamTemplate,
    selected: Mapping[str, FunctionSpec],
    *,
    environment: Callable[[str], dict[str, str]],
    cache_dir: Path,
    recorder: Callable[[str, str, int | None, InvocationResult], object] | None,
    log: Log,
    make_runtime: Callable[..., FunctionRuntime] = FunctionRuntime,
) -> tuple[dict[str, FunctionRuntime], list[str]]:
    """The runtimes of ``selected`` once their workers are ready, and the "not emulated"
    lines (a function whose runtime is not Python is named and not started). A function whose
    init fails is started anyway and answers with its init error, as on Lambda.
    ``make_runtime``: what makes a function's pool (``runtime/debugging.py`` debugs one)."""
    builds = TemplateBuild(template, cache_dir, log=log)
    plans = builds.prepare(selected)
    runtimes: dict[str, FunctionRuntime] = {}
    try:
        for logical_id in selected:
            plan = plans.get(logical_id)
            if plan is None:
                continue
            runtime = make_runtime(
                selected[logical_id],
                environment(logical_id),
                plan.paths,
                python=plan.interpreter.path,
                init_error=plan.error,
                log=log,
                recorder=recorder,
            )
            runtime.start()  # cold starts run in parallel
            runtimes[logical_id] = runtime
        for logical_id, runtime in runtimes.items():
            error = runtime.wait_ready()
            if error:
                log(
                    f"{logical_id}: init failed: {error.get('errorType')}: {error.get('errorMessage')}"
                )
    except BaseException:
        for runtime in runtimes.values():
            runtime.stop()
        raise
    return runtimes, list(builds.skipped)
