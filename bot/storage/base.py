"""Shared base of the store's query mixins: the database and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.storage.db import Database


class StoreBase:
    """Holds the database and clock; each query mixin adds the SQL of one concept."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
