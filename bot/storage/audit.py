"""The audit log and the write ledger (idempotency keys)."""

from __future__ import annotations

from bot.storage.base import StoreBase


class AuditQueries(StoreBase):
    """The audit log and the write ledger (idempotency keys)."""
