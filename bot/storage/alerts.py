"""Operator alerts: at most one DM to the admins per configuration problem per window, across processes.

`claim_alert` is the only writer. The first sighting INSERTs the row (its primary key is the problem, so of two
processes racing only one inserts); a later sighting claims with one conditional `UPDATE ... WHERE last_sent_at
<= now - window`, which exactly one process can win per window. The row is never deleted: it also records when a
problem was first seen and how often the admins were told.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.storage.base import StoreBase
from bot.storage.tables import OperatorAlertRow


class AlertQueries(StoreBase):
    """Claims on operator alerts."""

    async def claim_alert(self, problem: str, *, summary: str, window: timedelta) -> bool:
        """True when this caller should tell the admins about `problem` now (nobody did within `window`)."""
        now = self.clock()

        def _renew(session: Session) -> bool:
            stmt = (
                update(OperatorAlertRow)
                .where(col(OperatorAlertRow.problem) == problem, col(OperatorAlertRow.last_sent_at) <= now - window)
                .values(last_sent_at=now, summary=summary, sent_count=col(OperatorAlertRow.sent_count) + 1)
            )
            return session.exec(stmt).rowcount == 1  # type: ignore[call-overload, no-any-return]

        if await self.db.run(_renew):
            return True
        row = OperatorAlertRow(problem=problem[:200], summary=summary, first_seen_at=now, last_sent_at=now)
        try:
            await self.db.run(lambda s: s.add(row))
        except IntegrityError:
            return False  # seen before, and told within the window (or another process just claimed it)
        return True

    async def get_alert(self, problem: str) -> OperatorAlertRow | None:
        """The record of a problem, if it was ever reported."""
        row = await self.db.run(lambda s: s.get(OperatorAlertRow, problem))
        if row is not None:
            for name in ("first_seen_at", "last_sent_at"):
                value = getattr(row, name)
                if value.tzinfo is None:
                    setattr(row, name, value.replace(tzinfo=UTC))
        return row
