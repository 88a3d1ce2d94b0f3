"""Retention and vacuum queries for housekeeping: old conversations and traces, approvals, schedule history.

Each delete runs children before parents, in batches (one transaction per batch), so a long purge never holds
locks for long and a crash leaves no orphan rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.storage.base import StoreBase, insert_for
from bot.storage.tables import (
    ConversationRow,
    MessageRow,
    PendingApprovalRow,
    ReminderMuteRow,
    ReminderSentRow,
    ScheduleRunRow,
    ToolCallRow,
    TurnRow,
)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive values, which are UTC by our convention)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dialect_insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
    return insert_for(session.get_bind().dialect.name, table)


class RetentionQueries(StoreBase):
    """Deletes for housekeeping."""

    async def purge_conversations(self, *, before: datetime, batch: int = 500) -> dict[str, int]:
        """Delete traces (turns, tool calls) started before `before`, and conversations idle since then with
        their messages. Batched, one transaction per batch, children before parents."""
        cut = as_utc(before)
        totals = {"conversations": 0, "conversation_messages": 0, "turns": 0, "tool_calls": 0}

        def _traces(session: Session) -> int:
            turn_ids = list(
                session.exec(select(TurnRow.id).where(col(TurnRow.started_at) < cut).limit(batch)).all()
            )
            if not turn_ids:
                return 0
            totals["tool_calls"] += session.exec(
                delete(ToolCallRow).where(col(ToolCallRow.turn_id).in_(turn_ids))
            ).rowcount
            totals["turns"] += session.exec(delete(TurnRow).where(col(TurnRow.id).in_(turn_ids))).rowcount
            return len(turn_ids)

        def _conversations(session: Session) -> int:
            ids = list(
                session.exec(
                    select(ConversationRow.id).where(col(ConversationRow.updated_at) < cut).limit(batch)
                ).all()
            )
            if not ids:
                return 0
            turn_ids = select(TurnRow.id).where(col(TurnRow.conversation_id).in_(ids))
            totals["tool_calls"] += session.exec(
                delete(ToolCallRow).where(col(ToolCallRow.turn_id).in_(turn_ids))
            ).rowcount
            totals["turns"] += session.exec(
                delete(TurnRow).where(col(TurnRow.conversation_id).in_(ids))
            ).rowcount
            totals["conversation_messages"] += session.exec(
                delete(MessageRow).where(col(MessageRow.conversation_id).in_(ids))
            ).rowcount
            totals["conversations"] += session.exec(
                delete(ConversationRow).where(col(ConversationRow.id).in_(ids))
            ).rowcount
            return len(ids)

        while await self.db.run(_traces) == batch:
            pass
        while await self.db.run(_conversations) == batch:
            pass
        return totals

    async def purge_approvals(self, *, expired_before: datetime) -> int:
        """Delete approvals that are no longer pending and expired before the cut-off."""
        cut = as_utc(expired_before)

        def _del(session: Session) -> int:
            stmt = delete(PendingApprovalRow).where(
                col(PendingApprovalRow.expires_at) < cut, col(PendingApprovalRow.status) != "pending"
            )
            return int(session.exec(stmt).rowcount or 0)

        return await self.db.run(_del)

    async def purge_schedule_history(
        self, *, runs_before: datetime, reminders_before: datetime
    ) -> dict[str, int]:
        """Delete finished run rows and reminder dedupe rows older than the cut-offs."""
        runs_cut, rem_cut = as_utc(runs_before), as_utc(reminders_before)

        def _del(session: Session) -> dict[str, int]:
            runs = session.exec(
                delete(ScheduleRunRow).where(
                    col(ScheduleRunRow.scheduled_for) < runs_cut,
                    col(ScheduleRunRow.status).not_in(("running", "posting", "retrying")),
                )
            ).rowcount
            sent = session.exec(
                delete(ReminderSentRow).where(col(ReminderSentRow.sent_at) < rem_cut)
            ).rowcount
            mutes = session.exec(
                delete(ReminderMuteRow).where(
                    col(ReminderMuteRow.until).is_not(None), col(ReminderMuteRow.until) < rem_cut
                )
            ).rowcount
            return {"schedule_runs": runs, "reminders_sent": sent, "reminder_mutes": mutes}

        return await self.db.run(_del)
