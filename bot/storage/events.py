"""Slack delivery dedupe (event ids, channel:ts)."""

from __future__ import annotations

from bot.storage.base import StoreBase


class EventQueries(StoreBase):
    """Slack delivery dedupe (event ids, channel:ts)."""
