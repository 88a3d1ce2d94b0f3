"""Shared base of the store's query mixins: the database and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.db import Database


def insert_for(dialect: str, table: Any) -> Any:
    """The INSERT of `dialect` ("postgresql", else SQLite), which has `on_conflict_do_nothing` / `_do_update`."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


class StoreBase:
    """Holds the database and clock; each query mixin adds the SQL of one concept."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
