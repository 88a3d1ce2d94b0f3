"""Conversations, messages, turns and tool-call rows."""

from __future__ import annotations

from bot.storage.base import StoreBase


class ConversationQueries(StoreBase):
    """Conversations, messages, turns and tool-call rows."""
