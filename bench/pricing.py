"""What a million fraud events cost at AWS's published on-demand prices (us-east-1).

Prices as read on 2026-11-29 from the providers' pages:

- DynamoDB on-demand (https://aws.amazon.com/dynamodb/pricing/on-demand/): $0.625 per million
  write request units, $0.125 per million read request units (one unit: a write of up to 1 KB,
  a strongly consistent read of up to 4 KB; a transactional write costs two).
- Lambda (https://aws.amazon.com/lambda/pricing/), x86: $0.0000166667 per GB-second of duration
  (first 6 billion GB-s a month), $0.20 per million requests.

Free tiers are left out: the figures are the marginal cost of the millionth event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

REGION = "us-east-1"
READ_ON = "2026-11-29"
DYNAMODB_SOURCE = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
LAMBDA_SOURCE = "https://aws.amazon.com/lambda/pricing/"
WRITE_UNIT_USD = 0.625 / 1e6
READ_UNIT_USD = 0.125 / 1e6
GB_SECOND_USD = 0.0000166667
REQUEST_USD = 0.20 / 1e6
MILLION = 1_000_000


@dataclass(frozen=True)
class PerMillion:
    """USD per million events, by line item."""

    write_units: float
    read_units: float
    lambda_duration: float
    lambda_requests: float

    @property
    def total(self) -> float:
        return self.write_units + self.read_units + self.lambda_duration + self.lambda_requests

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "total": self.total}


def per_million(
    write_units_per_event: float,
    read_units_per_event: float,
    handler_seconds_per_event: float,
    invocations_per_event: float,
    memory_mb: int,
) -> PerMillion:
    gb_seconds = handler_seconds_per_event * memory_mb / 1024
    return PerMillion(
        write_units=MILLION * write_units_per_event * WRITE_UNIT_USD,
        read_units=MILLION * read_units_per_event * READ_UNIT_USD,
        lambda_duration=MILLION * gb_seconds * GB_SECOND_USD,
        lambda_requests=MILLION * invocations_per_event * REQUEST_USD,
    )


def prices() -> dict[str, Any]:
    return {
        "region": REGION,
        "read_on": READ_ON,
        "dynamodb_source": DYNAMODB_SOURCE,
        "lambda_source": LAMBDA_SOURCE,
        "write_unit_usd_per_million": WRITE_UNIT_USD * MILLION,
        "read_unit_usd_per_million": READ_UNIT_USD * MILLION,
        "gb_second_usd": GB_SECOND_USD,
        "request_usd_per_million": REQUEST_USD * MILLION,
    }
