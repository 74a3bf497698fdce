"""One Logger and one Metrics object for every handler (Powertools).

Every handler uses the same decorator order::

    @metrics.log_metrics(capture_cold_start_metric=True)
    @logger.inject_lambda_context(clear_state=True)
    def lambda_handler(event, context): ...

Service name comes from ``POWERTOOLS_SERVICE_NAME`` (set per function in template.yaml).
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

# A read-only API call has no business metric to publish; that is not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics(namespace="EventFlow")
