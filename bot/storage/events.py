"""Slack delivery dedupe: each delivery claims its event id and its (channel, ts) with a unique-key insert.

Slack retries unacknowledged deliveries (same event id, `X-Slack-Retry-Num`) and delivers one mention twice
(`app_mention` plus `message`, different event ids, same channel and ts). The first process to insert a key
wins; the primary key makes this correct across processes sharing the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete
from sqlmodel import Session, col

from bot.storage.base import StoreBase
from bot.storage.tables import ProcessedEventRow
from bot.storage.turn_sql import claim


def event_key(team_id: str | None, event_id: str) -> str:
    """The dedupe key of one Events API delivery."""
    return f"event:{team_id or '-'}:{event_id}"[:200]


def message_key(team_id: str | None, channel_id: str, ts: str) -> str:
    """The dedupe key of one Slack message, whichever event delivered it."""
    return f"msg:{team_id or '-'}:{channel_id}:{ts}"[:200]


class DeliveryTaken(Exception):
    """Another delivery claimed one of these keys first (raised inside a transaction, which then rolls back)."""


def claim_keys(keys: Sequence[str]) -> list[str]:
    """The keys a claim inserts: each once, in order, empty ones left out."""
    return list(dict.fromkeys(k for k in keys if k))


def insert_claim(conn: Connection, keys: Sequence[str], now: datetime) -> bool:
    """Insert every key in one statement, inside the caller's transaction; False when any was claimed before (the
    caller must then roll back: the keys this statement did insert must not stay)."""
    unique = claim_keys(keys)
    if not unique:
        return True
    # one statement for every key (built once per count); a key claimed before is skipped
    params: dict[str, object] = {f"k{i}": key for i, key in enumerate(unique)}
    params["now"] = now
    return len(conn.execute(claim(len(unique)), params).all()) == len(unique)


class EventQueries(StoreBase):
    """Slack delivery dedupe (event ids, channel:ts)."""

    async def claim_delivery(self, keys: Sequence[str]) -> bool:
        """Claim every key in one transaction; False (and nothing stored) when any was claimed before."""
        now = self.clock()

        def _claim(conn: Connection) -> bool:
            if insert_claim(conn, keys, now):
                return True
            raise DeliveryTaken  # the transaction rolls back: nothing of this claim stays

        if not any(keys):
            return True
        try:
            return await self.db.run_conn(_claim)
        except DeliveryTaken:
            return False

    async def forget_deliveries(self, *, older_than: datetime) -> int:
        """Delete claims made before `older_than` (Slack stops retrying after minutes); returns how many."""

        def _delete(session: Session) -> int:
            result = session.exec(  # type: ignore[call-overload]
                delete(ProcessedEventRow).where(col(ProcessedEventRow.created_at) < older_than)
            )
            return int(result.rowcount or 0)

        return await self.db.run(_delete)
