"""Model-written summaries in `summary_cache`, valid while their fingerprint matches (ticket unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.storage.db import Database
from bot.storage.tables import SummaryCacheRow


class SummaryCache:
    """get/put of cached summary text by key and fingerprint."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    async def get(self, key: str, fingerprint: str) -> str | None:
        """The cached text when it was made for this fingerprint, else None."""

        def run(s: Session) -> str | None:
            row = s.get(SummaryCacheRow, key)
            return row.text if row is not None and row.fingerprint == fingerprint else None

        return await self.db.run(run)

    async def put(self, key: str, fingerprint: str, text: str) -> None:
        """Store `text` for this fingerprint, replacing an older one."""
        now = self.clock()

        def run(s: Session) -> None:
            row = s.get(SummaryCacheRow, key)
            if row is None:
                row = SummaryCacheRow(cache_key=key, fingerprint=fingerprint, text=text, created_at=now)
            row.fingerprint, row.text, row.created_at = fingerprint, text, now
            s.add(row)

        try:
            await self.db.run(run)
        except IntegrityError:
            pass  # a concurrent call cached the same ticket first; either text is fine
