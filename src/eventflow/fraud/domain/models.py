"""Typed models of the fraud domain and of the API's request bodies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AccountStatus(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    INACTIVE = "inactive"
    BLOCKED = "blocked"


class AccountType(StrEnum):
    ROOT = "root"
    SUB = "sub"


class TransactionStatus(StrEnum):
    CREATED = "CREATED"
    FAILED = "FAILED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    FRAUD = "FRAUD"


FRAUD_EVENT_TYPE: Literal["TransactionMarkedFraud"] = "TransactionMarkedFraud"


def _strip_nonempty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class CreateAccount(BaseModel):
    """Body of ``POST /accounts``. ``fraudCount`` is not accepted: the consumer owns it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    number: str = Field(min_length=1, max_length=64)
    type: AccountType = AccountType.ROOT
    status: AccountStatus = AccountStatus.NEW

    _strip = field_validator("name", "number")(_strip_nonempty)


class UpdateAccount(BaseModel):
    """Body of ``PATCH /accounts/{id}``: any non-empty subset of the fields."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    number: str | None = Field(default=None, min_length=1, max_length=64)
    type: AccountType | None = None
    status: AccountStatus | None = None

    @field_validator("name", "number")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return None if value is None else _strip_nonempty(value)


class Account(BaseModel):
    id: str
    name: str
    number: str
    type: AccountType
    status: AccountStatus
    fraudCount: int = 0
    createdAt: str
    updatedAt: str
    blockedAt: str | None = None


class CreateTransaction(BaseModel):
    """Body of ``POST /transactions``."""

    model_config = ConfigDict(extra="forbid")

    accountId: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = Field(default=None, max_length=500)


class Transaction(BaseModel):
    id: str
    status: TransactionStatus
    accountId: str
    description: str | None = None
    createdAt: str
    updatedAt: str


class FraudEvent(BaseModel):
    """The value of a record on the transactions topic, as the outbox relay publishes it.

    It is the updated transaction plus ``eventId`` (unique per FRAUD transition; consumers
    dedupe on it) and ``eventType``.
    """

    model_config = ConfigDict(extra="ignore")

    eventId: str = Field(min_length=1, max_length=128)
    eventType: Literal["TransactionMarkedFraud"] = FRAUD_EVENT_TYPE
    id: str = Field(min_length=1, max_length=64)
    accountId: str = Field(min_length=1, max_length=64)
    status: Literal["FRAUD"]
    description: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


@dataclass(frozen=True)
class OutboxEvent:
    """An event to publish, written in the same transaction as the change it reports; the relay
    publishes ``payload`` keyed by ``account_id``, with ``event_id`` and ``event_type`` as headers.
    ``expires_at``: epoch seconds after which DynamoDB's TTL may delete it."""

    event_id: str
    event_type: str
    account_id: str
    transaction_id: str
    payload: dict[str, Any]
    created_at: str
    expires_at: int
