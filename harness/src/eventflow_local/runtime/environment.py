"""The environment of a function's process, as Lambda builds it.

Lambda gives a function the variables of its definition (Globals and the function's
``Environment``) plus the reserved ones (``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_REGION``,
``_HANDLER``, ...), and nothing of the machine it runs on. ``lambda_environment`` builds that set
for a worker (``eventflow_local.runtime.worker_process``), with the local endpoints, broker and
dummy credentials on top so that the function talks to the local resources and never to AWS.
It is kept apart from the worker pool because the stack, the Lambda Invoke API and the event
sources need the deployed name and the environment without starting anything.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping

from eventflow_local.aws import LOCAL_ACCOUNT
from eventflow_local.template.specs import FunctionSpec

# Variables a process needs to run at all; everything else comes from the function's definition
# (not VIRTUAL_ENV: the function does not run in the harness's virtualenv).
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def function_name(spec: FunctionSpec) -> str:
    """The deployed name: the template's ``FunctionName`` if it sets one, else the logical id."""
    return str(spec.properties.get("FunctionName") or spec.logical_id)


def lambda_environment(
    spec: FunctionSpec,
    *,
    region: str,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of the function's process, as Lambda would build it.

    ``extra`` (local endpoints, broker, credentials) wins over the template so that the function
    talks to the local resources and never to AWS.
    """
    base = os.environ if base is None else base
    env = {k: base[k] for k in PASSTHROUGH if k in base}
    env.update(spec.environment)
    name = function_name(spec)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python'}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "EVENTFLOW_LOCAL_ACCOUNT": LOCAL_ACCOUNT,
            # no shared config/credentials files: only the dummies below can be used
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    env.update(extra or {})
    return env
