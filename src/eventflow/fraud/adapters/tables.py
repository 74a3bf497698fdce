"""The fraud tables as pynamodb models (see ``eventflow.tables``)."""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

ACCOUNT_LIST_KEY = "ACCOUNT"
TRANSACTION_LIST_KEY = "TRANSACTION"


class AccountsByCreatedAt(GlobalSecondaryIndex["Accounts"]):
    class Meta:
        index_name = "byCreatedAt"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True, attr_name="listKey")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class Accounts(Model):
    """An account, its fraud tally and the consumer's exactly-once state (``version``,
    ``applied_offsets``, ``recent_events``: ``eventflow.fraud.domain.rules.AccountLedger``)."""

    class Meta:
        table_name = "AccountsTable"
        env = "ACCOUNTS_TABLE"

    id = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(attr_name="listKey", default=ACCOUNT_LIST_KEY)
    name = UnicodeAttribute(null=True)
    number = UnicodeAttribute(null=True)
    type = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    fraud_count = NumberAttribute(attr_name="fraudCount", default=0)
    created_at = UnicodeAttribute(attr_name="createdAt", null=True)
    updated_at = UnicodeAttribute(attr_name="updatedAt", null=True)
    blocked_at = UnicodeAttribute(attr_name="blockedAt", null=True)
    version = NumberAttribute(default=0)
    applied_offsets = MapAttribute[str, int](attr_name="appliedOffsets", null=True)
    recent_events = BinaryAttribute(attr_name="recentEvents", null=True, legacy_encoding=False)
    by_created_at = AccountsByCreatedAt()


class TransactionsByCreatedAt(GlobalSecondaryIndex["Transactions"]):
    class Meta:
        index_name = "byCreatedAt"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True, attr_name="listKey")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class TransactionsByAccount(GlobalSecondaryIndex["Transactions"]):
    class Meta:
        index_name = "byAccount"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True, attr_name="accountId")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class Transactions(Model):
    class Meta:
        table_name = "TransactionsTable"
        env = "TRANSACTIONS_TABLE"

    id = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(attr_name="listKey", default=TRANSACTION_LIST_KEY)
    status = UnicodeAttribute()
    account_id = UnicodeAttribute(attr_name="accountId")
    description = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")
    by_created_at = TransactionsByCreatedAt()
    by_account = TransactionsByAccount()


class Outbox(Model):
    """An event to publish: its stream record (NEW_IMAGE) feeds the relay; TTL ``expiresAt``."""

    class Meta:
        table_name = "OutboxTable"
        env = "OUTBOX_TABLE"

    event_id = UnicodeAttribute(hash_key=True, attr_name="eventId")
    event_type = UnicodeAttribute(attr_name="eventType")
    account_id = UnicodeAttribute(attr_name="accountId")
    transaction_id = UnicodeAttribute(attr_name="transactionId")
    payload = MapAttribute[str, object]()
    created_at = UnicodeAttribute(attr_name="createdAt")
    expires_at = TTLAttribute(attr_name="expiresAt")
