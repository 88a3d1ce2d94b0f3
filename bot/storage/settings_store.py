"""Role assignments and admin configuration values, audited."""

from __future__ import annotations

from bot.storage.base import StoreBase


class ConfigQueries(StoreBase):
    """Role assignments and admin configuration values, audited."""
