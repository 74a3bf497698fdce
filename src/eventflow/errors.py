"""Domain errors. Handlers never build status codes by hand: ``eventflow.api`` maps these."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: ``message`` is safe to show to the caller."""

    status_code = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequestError(DomainError):
    """The request is malformed (bad JSON, bad query parameter, bad id format)."""

    status_code = 400


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    """The request is valid but the resource's current state forbids it."""

    status_code = 409


class PayloadTooLargeError(DomainError):
    status_code = 413


class UnsupportedMediaTypeError(DomainError):
    status_code = 415


class TransientError(Exception):
    """A failure worth retrying (throttling, timeouts, broker unreachable).

    Consumers let it propagate so the event source mapping retries the batch.
    """
