"""A deployed ``AWS::Lambda::Function`` (under SAM's property names) as the ``FunctionSpec`` the
harness runs, or the reason it does not run: Lambda's own checks at deploy (Handler and Runtime of
a zip function, the code's folder, Timeout and MemorySize ranges, reserved environment
variables: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html) and what cannot
run here (container images, code in S3, non-Python runtimes). A ``CodeUri`` that is a local .zip
package runs unpacked (``template.code_package``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventflow_local.template.code_package import PackageError, unpacked
from eventflow_local.template.lambda_rules import NOTED, RESERVED_ENV
from eventflow_local.template.specs import EventSpec, FunctionSpec

if TYPE_CHECKING:
    from eventflow_local.template.sam import SamTemplate

#: SAM events still read from the template as written (the others arrive as the resources SAM's
#: transform makes of them: event source mappings)
WRITTEN_EVENTS = ("Schedule", "ScheduleV2")
#: the names SAM's properties have on the ``AWS::Lambda::Function`` SAM makes
DEPLOYED_NAMES = {"Tracing": "TracingConfig"}


def function_spec(
    template: SamTemplate, lid: str, props: dict[str, Any], code_prop: str
) -> FunctionSpec | None:
    if props.get("PackageType") == "Image" or "ImageUri" in props:
        template.note(f"{lid}.PackageType: container image functions are not emulated; not started")
        return None
    missing = [p for p in ("Handler", "Runtime") if not props.get(p)]
    if missing:
        template.refuse(
            f"{lid}: {', '.join(missing)}: Runtime and Handler needs to be present when "
            "PackageType is of type `Zip`"
        )
        return None
    runtime = str(props["Runtime"])
    if not runtime.startswith("python"):
        template.note(
            f"{lid}.Runtime: {runtime} is not emulated (Python runtimes only); not started"
        )
        return None
    inline = props.get("InlineCode")
    code_uri = template.root.resolve()
    if inline is None:
        uri = props.get("CodeUri", ".")
        if isinstance(uri, dict) or str(uri).startswith("s3://"):
            where = uri if isinstance(uri, str) else f"s3://{uri.get('Bucket')}/{uri.get('Key')}"
            template.note(
                f"{lid}.{code_prop}: {where} is in S3 and cannot be fetched locally; not started"
            )
            return None
        code_uri = (template.root / str(uri)).resolve()
        if not code_uri.exists():
            template.refuse(
                f"{lid}: {code_prop}: Parameter {code_prop} of resource {lid} refers to a "
                f"file or folder that does not exist {code_uri}"
            )
            return None
        if not code_uri.is_dir():
            try:
                code_uri = unpacked(code_uri, template.root.resolve(), lid)
            except (PackageError, OSError) as exc:
                template.refuse(f"{lid}: {code_prop}: {exc}")
                return None
    numbers = {}
    for prop, default, low, high in (("Timeout", 3, 1, 900), ("MemorySize", 128, 128, 10240)):
        try:
            numbers[prop] = int(props.get(prop, default))
        except (TypeError, ValueError):
            template.refuse(f"{lid}: {prop}: {props.get(prop)!r} is not an integer")
            return None
        if not low <= numbers[prop] <= high:
            template.refuse(
                f"{lid}: {prop}: Value '{numbers[prop]}' failed to satisfy constraint: "
                f"Member must have value between {low} and {high}"
            )
            return None
    for prop in ("Environment",):
        if not isinstance(props.get(prop) or {}, dict):
            template.refuse(f"{lid}: {prop}: must be a map")
            return None
    variables = (props.get("Environment") or {}).get("Variables") or {}
    reserved = sorted(set(variables) & RESERVED_ENV)
    if reserved:
        template.refuse(
            f"{lid}: Environment: Lambda was unable to configure your environment variables "
            "because the environment variables you have provided contains reserved keys "
            f"that are currently not supported for modification. Reserved keys used in this "
            f"request: {', '.join(reserved)}"
        )
        return None
    events = []
    for name, event in (props.get("Events") or {}).items():
        if isinstance(event, dict) and event.get("Type") in WRITTEN_EVENTS:
            event_props = dict(template.resolve_at(f"{lid}.{name}", event.get("Properties") or {}))
            events.append(EventSpec(name, str(event["Type"]), event_props))
    for prop in NOTED:
        if props.get(DEPLOYED_NAMES.get(prop, prop)) is not None:
            template.noted(prop, lid)
    return FunctionSpec(
        logical_id=lid,
        code_uri=code_uri,
        handler=str(props["Handler"]),
        runtime=runtime,
        timeout=numbers["Timeout"],
        memory_size=numbers["MemorySize"],
        environment={k: ("" if v is None else str(v)) for k, v in variables.items()},
        events=events,
        properties=props,
        inline_code=None if inline is None else str(inline),
        layers=[str(layer) for layer in props.get("Layers") or []],
    )
