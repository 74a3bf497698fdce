"""What a template's functions are, once read: plain values, frozen after start-up.

``FunctionSpec`` is a function with Globals merged and intrinsics resolved (SAM's
``AWS::Serverless::Function`` or a plain ``AWS::Lambda::Function``), with its events
(``EventSpec``: SAM events and plain ``AWS::Lambda::EventSourceMapping``). ``sam.SamTemplate``
makes them; REST API methods are read from the deployed API (``apigw.restapi``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class EventSpec:
    name: str
    type: str
    properties: dict[str, Any]


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    events: list[EventSpec]
    properties: dict[str, Any] = field(repr=False, default_factory=dict)
    #: InlineCode / Code.ZipFile text; CloudFormation writes it to an ``index`` file, so the
    #: handler is ``index.<function>`` (aws-properties-lambda-function-code.html); code_uri is
    #: then the template's folder
    inline_code: str | None = None
    #: resolved Layers entries: a LayerVersion logical id of the template, or an ARN
    layers: list[str] = field(default_factory=list)

    @property
    def module_file(self) -> Path:
        module = self.handler.rsplit(".", 1)[0]
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def events_of(self, *types: str) -> list[EventSpec]:
        return [e for e in self.events if e.type in types]
