"""Per-function builds, as ``sam build`` makes them, so that imports fail locally as on AWS.

On Lambda a Python function imports only from its deployment package (``/var/task``: the CodeUri
and the packages of its ``requirements.txt``), its own layers (extracted under ``/opt``; Python
looks in ``/opt/python/lib/python3.X/site-packages`` and ``/opt/python``) and what the runtime
itself provides (boto3 and its dependencies), plus the standard library
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html, "Dependency search path and
runtime-included libraries"; https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html,
"Layer paths for each Lambda runtime"; ``sam build`` for layers:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-layers.html).
A package the developer's virtualenv happens to hold is not there. So each function's worker runs
isolated (``-I -S``) with an explicit ``sys.path`` built here:

1. the function's code directory, then its build (``pip install -r requirements.txt -t``);
2. its layers, the template's last one first (Lambda extracts them in order, so a later layer's
   file wins): every layer's ``python/lib/python3.X/site-packages``, then every ``python/``.
   A ``LayerVersion`` with ``Metadata.BuildMethod: python3.x`` is built as ``sam build`` builds
   it: its ``requirements.txt`` installed with that Python and its ``ContentUri`` importable as
   ``/opt/python``; with ``BuildMethod: makefile`` its ``Makefile``'s ``build-<LayerId>`` target
   fills the build folder (``ARTIFACTS_DIR``), which is then ``/opt``; a layer without a
   BuildMethod is used as prebuilt (its folder holds ``python/``);
3. the runtime's own packages (boto3, botocore, s3transfer, jmespath, dateutil, urllib3, six),
   linked from the harness's own install into a directory holding nothing else.

Builds are cached under ``<template folder>/.aws-sam-local/``, one directory per function or
layer named by a hash of its requirements (comments and blank lines aside), the Python version
and the machine: a restart, another state directory or a test run reuses them, and a change of
requirements builds again (the previous build of that owner is then removed); the pip side of it
is ``eventflow_local.runtime.installer``.

The interpreter is the one the function's ``Runtime`` names when installed (``eventflow_local.runtime.pythons``);
otherwise the newest installed Python stands in, said once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import platform
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventflow_local.runtime.installer import BuildError, BuildJob, build
from eventflow_local.runtime.pythons import (
    Interpreter,
    choose_interpreter,
    installed_interpreters,
    runtime_version,
)

Log = Callable[[str], None]

CACHE_FOLDER = ".aws-sam-local"
#: modules the Lambda Python runtime provides, and the distributions that ship them
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
RUNTIME_DISTRIBUTIONS = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "urllib3",
    "six",
)
#: AWS's public Powertools for AWS Lambda (Python) layers: ``...:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:N``.
#: The layer holds the library with all its extras (https://docs.aws.amazon.com/powertools/python/latest/#lambda-layer).
POWERTOOLS_LAYER = re.compile(
    r"^arn:aws[\w-]*:lambda:[^:]*:[^:]*:layer:AWSLambdaPowertoolsPython(V(\d+))?"
)
LAYER_ARN = re.compile(r"^arn:aws[\w-]*:lambda:")


def cache_dir_for(template_path: Path) -> Path:
    """Where a template's builds are kept: next to it, like ``sam build``'s ``.aws-sam``."""
    return template_path.resolve().parent / CACHE_FOLDER


# ---------------------------------------------------------------------------------- runtime libs
def _runtime_sources() -> list[Path]:
    """The harness's own copies of the runtime-provided modules and their dist-info folders."""
    sources: list[Path] = []
    for module in RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        sources.append(origin.parent if spec.submodule_search_locations else origin)
    for name in RUNTIME_DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            if file.parts and file.parts[0].endswith(".dist-info"):
                sources.append(Path(str(dist.locate_file(file.parts[0]))))
                break
    return sources


def runtime_libraries(cache: Path) -> Path:
    """A directory holding only the runtime-provided packages (links to the harness's own)."""
    sources = _runtime_sources()
    key = hashlib.sha256("\n".join(str(s.resolve()) for s in sources).encode()).hexdigest()[:16]
    target = cache / f"runtime-{key}"
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    work = cache / f".tmp-runtime-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        for source in sources:
            (work / source.name).symlink_to(source.resolve())
        try:
            work.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------------- layers
@dataclass
class LayerContent:
    """What one layer puts under ``/opt``: its site-packages folders and its ``python/`` roots."""

    name: str
    roots: list[Path] = field(default_factory=list)
    site_dirs: list[Path] = field(default_factory=list)  # python/lib/python3.X/site-packages
    job: BuildJob | None = None

    def paths(self, python: tuple[int, int], cache: Path) -> tuple[list[Path], list[Path]]:
        site_dirs, roots = list(self.site_dirs), list(self.roots)
        if self.job is not None and self.job.make_target:  # the build is what /opt holds
            built = self.job.target(cache) / "python"
            site_dirs.append(built / "lib")
            roots.append(built)
        elif self.job is not None:  # pip's target is importable as /opt/python
            roots.insert(0, self.job.target(cache))
        sites = [d / f"python{python[0]}.{python[1]}" / "site-packages" for d in site_dirs]
        return [s for s in sites if s.is_dir()], roots


def import_paths(
    code_build: Path | None,
    layers: list[LayerContent],
    python: tuple[int, int],
    cache: Path,
    runtime_dir: Path,
) -> list[Path]:
    """The function's ``sys.path`` after its code directory, as Lambda orders it."""
    sites: list[Path] = []
    roots: list[Path] = []
    for layer in reversed(layers):  # a later layer's files overwrite an earlier layer's
        layer_sites, layer_roots = layer.paths(python, cache)
        sites.extend(layer_sites)
        roots.extend(layer_roots)
    return [*([code_build] if code_build else []), *sites, *roots, runtime_dir]


# ---------------------------------------------------------------------------------- the template
@dataclass
class FunctionBuild:
    """How one function's worker runs: its interpreter, its import path, or why it cannot."""

    interpreter: Interpreter
    paths: list[Path]
    error: dict[str, str] | None = None


def _host_architecture() -> str:
    machine = platform.machine().lower()
    return {"aarch64": "arm64", "amd64": "x86_64"}.get(machine, machine)


class TemplateBuild:
    """The builds of a template's functions and layers; ``skipped`` names what is not emulated."""

    def __init__(
        self,
        template: Any,
        cache: Path,
        *,
        log: Log = print,
        interpreters: Iterable[Interpreter] | None = None,
    ) -> None:
        self.template = template
        self.cache = cache
        self.log = log
        self.interpreters = list(interpreters or installed_interpreters())
        self.skipped: list[str] = []
        self._said: set[str] = set()

    def _say_once(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self.log(line)

    def interpreter(self, runtime: str) -> Interpreter:
        chosen, note = choose_interpreter(runtime, self.interpreters)
        if note:
            self._say_once(note)
        return chosen

    # ------------------------------------------------------------------ resolution
    def _function_job(self, spec: Any, interpreter: Interpreter) -> BuildJob | None:
        if getattr(spec, "inline_code", None) is not None:
            return None
        metadata = self.template.doc["Resources"][spec.logical_id].get("Metadata") or {}
        method = str(metadata.get("BuildMethod") or "")
        if method and not runtime_version(method):
            self.skipped.append(
                f"{spec.logical_id}.Metadata.BuildMethod: {method} is not run locally; "
                "the CodeUri folder is used as it is"
            )
            return None
        requirements = Path(spec.code_uri) / "requirements.txt"
        if not requirements.is_file():
            return None
        return BuildJob(
            owner=spec.logical_id,
            requirements=requirements.read_text(),
            source=f"-r {self._relative(requirements)}",
            interpreter=interpreter,
            cwd=requirements.parent,
        )

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.template.root.resolve()))
        except ValueError:
            return str(path)

    def layer(self, entry: str, function: str, interpreter: Interpreter) -> LayerContent | None:
        """The content of one ``Layers`` entry (None, with a ``skipped`` line, if none here)."""
        found = self.template.layer_resource(entry)
        if found is not None:
            return self._template_layer(entry, *found, interpreter=interpreter)
        powertools = POWERTOOLS_LAYER.match(entry)
        if powertools:
            major = int(powertools.group(2) or 1)
            extras = "[all]" if major >= 2 else ""
            spec = f"aws-lambda-powertools{extras}>={major},<{major + 1}"
            self._say_once(
                f"Layers: AWS's public Powertools layer {entry} cannot be downloaded here: "
                f"'{spec}' from PyPI stands in for it"
            )
            job = BuildJob(
                owner=f"AWSLambdaPowertoolsPythonV{major}",
                requirements=spec,
                source=f"'{spec}'",
                interpreter=interpreter,
                cwd=self.template.root,
            )
            return LayerContent(job.owner, job=job)
        why = (
            "a layer outside the template cannot be downloaded"
            if LAYER_ARN.match(entry)
            else "neither a LayerVersion of the template nor a layer ARN"
        )
        self.skipped.append(f"{function}.Layers: {entry}: {why}; the function runs without it")
        return None

    def _template_layer(
        self, name: str, logical_id: str, resource: dict[str, Any], *, interpreter: Interpreter
    ) -> LayerContent | None:
        """``name``: the layer's logical id as written; ``logical_id``: the deployed one."""
        if not self.template.resource_enabled(logical_id):
            return None
        props = self.template.resolve(resource.get("Properties", {}))
        content = props.get("ContentUri", props.get("Content"))
        folder = (
            (self.template.root / content).resolve()
            if isinstance(content, str) and not content.startswith("s3://")
            else None
        )
        if folder is None or not folder.is_dir():
            return None  # named by the template's findings (SamTemplate.layer_dirs)
        written = self.template.sam_doc["Resources"].get(name) or resource
        method = str((written.get("Metadata") or {}).get("BuildMethod") or "")
        if runtime_version(method):
            requirements = folder / "requirements.txt"
            job = None
            if requirements.is_file():
                job = BuildJob(
                    owner=name,
                    requirements=requirements.read_text(),
                    source=f"-r {self._relative(requirements)}",
                    interpreter=self.interpreter(method),
                    cwd=folder,
                )
            return LayerContent(name, roots=[folder], job=job)
        if method == "makefile":  # build-<LayerId> of <ContentUri>/Makefile, into /opt
            makefile = folder / "Makefile"
            job = BuildJob(
                owner=name,
                requirements=makefile.read_text() if makefile.is_file() else "",
                source=f"build-{name} of {self._relative(makefile)}",
                interpreter=interpreter,
                cwd=folder,
                make_target=f"build-{name}",
            )
            return LayerContent(name, job=job)
        if method:
            line = (
                f"{name}.Metadata.BuildMethod: {method} is not run locally; "
                "the ContentUri folder is used as built"
            )
            if line not in self.skipped:
                self.skipped.append(line)
        python = folder / "python"
        return LayerContent(name, roots=[python], site_dirs=[python / "lib"])

    # ------------------------------------------------------------------ build
    def prepare(self, specs: Mapping[str, Any]) -> dict[str, FunctionBuild]:
        """Build what the functions need; a function with a non-Python runtime is left out."""
        planned: dict[str, tuple[Interpreter, BuildJob | None, list[LayerContent]]] = {}
        architectures: dict[str, list[str]] = {}
        for logical_id, spec in specs.items():
            if runtime_version(spec.runtime) is None:
                self.skipped.append(
                    f"{logical_id}.Runtime: {spec.runtime or 'none (PackageType Image?)'} is not "
                    "emulated (the harness runs Python functions); its routes and event sources "
                    "are not started"
                )
                continue
            interpreter = self.interpreter(spec.runtime)
            for arch in spec.properties.get("Architectures") or []:
                if str(arch) != _host_architecture():
                    architectures.setdefault(str(arch), []).append(logical_id)
            found = [self.layer(str(e), logical_id, interpreter) for e in spec.layers]
            layers = [layer for layer in found if layer is not None]
            planned[logical_id] = (interpreter, self._function_job(spec, interpreter), layers)
        for arch, names in architectures.items():
            self.log(
                f"Architectures: {arch} ({', '.join(names)}) runs on this machine's "
                f"{_host_architecture()} Python, with packages built for it"
            )
        jobs = {
            job.target(self.cache): job
            for _, own, layers in planned.values()
            for job in [own, *(layer.job for layer in layers)]
            if job is not None
        }
        errors = self._run(list(jobs.values()))
        runtime_dir = runtime_libraries(self.cache)
        out: dict[str, FunctionBuild] = {}
        for logical_id, (interpreter, own, layers) in planned.items():
            failed = [
                errors[job.target(self.cache)]
                for job in [own, *(layer.job for layer in layers)]
                if job is not None and job.target(self.cache) in errors
            ]
            paths = import_paths(
                own.target(self.cache) if own else None,
                layers,
                interpreter.version,
                self.cache,
                runtime_dir,
            )
            error = {"errorType": "BuildError", "errorMessage": failed[0]} if failed else None
            out[logical_id] = FunctionBuild(interpreter, paths, error)
        return out

    def _run(self, jobs: list[BuildJob]) -> dict[Path, str]:
        """Run the builds (a few at once); the error message of each that failed."""
        errors: dict[Path, str] = {}

        def one(job: BuildJob) -> None:
            try:
                build(job, self.cache, self.log)
            except BuildError as exc:
                errors[job.target(self.cache)] = str(exc)
                self.log(str(exc))

        with ThreadPoolExecutor(max_workers=max(1, min(4, len(jobs)))) as pool:
            list(pool.map(one, jobs))
        return errors
