"""Cache of Slack users (name, email, backend person)."""

from __future__ import annotations

from bot.storage.base import StoreBase


class UserQueries(StoreBase):
    """Cache of Slack users (name, email, backend person)."""
