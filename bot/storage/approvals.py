"""Pending approvals: create, claim once, decide, expire."""

from __future__ import annotations

from bot.storage.base import StoreBase


class ApprovalQueries(StoreBase):
    """Pending approvals: create, claim once, decide, expire."""
