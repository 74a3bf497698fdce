"""Lambda's rules a template's functions meet locally: the environment variables Lambda refuses
(the runtime sets them: "Defined runtime environment variables", Lambda developer guide) and the
properties a local run accepts but does not emulate, with what it does instead."""

from __future__ import annotations

#: properties accepted as they are, with what a local run does instead
NOTED = {
    "Tracing": "X-Ray tracing is not emulated",
    "Architectures": "functions run on this machine's architecture",
    "AutoPublishAlias": "invocations run $LATEST; no version or alias is published",
    "DeploymentPreference": "no gradual deployment: the code runs as soon as it starts",
    "ProvisionedConcurrencyConfig": "no pre-initialised environments: the first call is a cold start",
    "SnapStart": "no snapshots: every cold start runs the init code",
    "LoggingConfig": "logs go to this console, as the code writes them",
    "TenancyConfig": (
        "tenants share the function's execution environments; context.tenant_id is not set"
    ),
}
#: Lambda refuses these as environment variables (they are set by the runtime)
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
