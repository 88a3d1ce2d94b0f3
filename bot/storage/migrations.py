"""Schema migrations, append-only. (Placeholder: replaced by the storage work; see issue #2.)"""

from __future__ import annotations

from sqlmodel import SQLModel

from bot.storage import tables  # noqa: F401  (registers the tables)
from bot.storage.db import Database


async def migrate(db: Database) -> None:
    """Create or upgrade the schema."""
    SQLModel.metadata.create_all(db.engine)
