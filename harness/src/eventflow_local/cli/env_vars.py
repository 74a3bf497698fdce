"""The stack as the command line runs it: the user's ``--env-vars`` file in each function's
environment, for the variables the template declares (SAM CLI's rule, see ``eventflow_local/cli/args.py``).

Apart from ``eventflow_local/cli/commands.py`` so that the command line reports a user's mistake before it imports
the stack and everything the stack imports.
"""

from __future__ import annotations

from typing import Any

from eventflow_local.cli.args import EnvOverrides, function_overrides
from eventflow_local.runtime.debugging import DebugOptions, runtime_factory
from eventflow_local.stack import Stack


class EnvVarsStack(Stack):
    """The stack as the CLI runs it: the ``--env-vars`` file applied to each function's
    environment, where the template declares the variable (as SAM CLI does); with ``debug``
    (``-d/--debug-port``), that function's worker waits for a debugger (runtime/debugging.py)."""

    def __init__(
        self, *, env_overrides: EnvOverrides, debug: DebugOptions | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.env_overrides = env_overrides
        self.debug = debug
        if debug is not None:
            self.make_runtime = runtime_factory(debug)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        env = super().function_environment(logical_id)
        if self.env_overrides:
            assert self.template is not None
            spec = self.template.functions()[logical_id]
            name = str(spec.properties.get("FunctionName") or logical_id)
            env.update(
                function_overrides(self.env_overrides, logical_id, spec.environment.keys(), name)
            )
        return env
