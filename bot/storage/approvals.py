"""Pending approvals: create, claim once, decide, expire.

Life of an approval: `pending` → (`approved` → `done` | `failed`) | `cancelled` | `expired`.
Every transition out of `pending` is one `UPDATE ... WHERE status = 'pending'`: of two processes (or two clicks)
racing for the same approval exactly one gets a row back, so the approved call runs once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, update
from sqlmodel import Session, col, select

from bot.storage.base import StoreBase
from bot.storage.tables import PendingApprovalRow

ApprovalStatus = Literal["pending", "approved", "cancelled", "expired", "done", "failed"]
"""`approved` means claimed for running; `done` / `failed` record how the approved call ended."""

FINAL_STATUSES: frozenset[str] = frozenset({"cancelled", "expired", "done", "failed"})


def _aware(row: PendingApprovalRow | None) -> PendingApprovalRow | None:
    """SQLite hands back naive datetimes; every stored time is UTC, so say so."""
    if row is not None:
        for name in ("created_at", "expires_at", "decided_at"):
            value = getattr(row, name)
            if value is not None and value.tzinfo is None:
                setattr(row, name, value.replace(tzinfo=UTC))
    return row


class ApprovalQueries(StoreBase):
    """Pending approvals: create, claim once, decide, expire."""

    async def create_approval(
        self,
        *,
        conversation_id: str,
        turn_id: str,
        tool: str,
        tool_use_id: str,
        arguments: dict[str, Any],
        requester_id: str,
        channel_id: str,
        thread_ts: str,
        ttl: timedelta,
        team_id: str = "",
        state: dict[str, Any] | None = None,
        approval_id: str | None = None,
    ) -> PendingApprovalRow:
        """Store a write waiting for Approve/Cancel; it expires `ttl` after now."""
        now = self.clock()
        row = PendingApprovalRow(
            id=approval_id or uuid.uuid4().hex,
            conversation_id=conversation_id,
            turn_id=turn_id,
            tool=tool,
            tool_use_id=tool_use_id,
            arguments=arguments,
            state=state,
            requester_id=requester_id,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            status="pending",
            created_at=now,
            expires_at=now + ttl,
        )

        def _insert(session: Session) -> PendingApprovalRow:
            session.add(row)
            session.flush()
            return row

        return await self.db.run(_insert)

    async def get_approval(self, approval_id: str) -> PendingApprovalRow | None:
        """The approval with this id, whatever its status."""
        return _aware(await self.db.run(lambda s: s.get(PendingApprovalRow, approval_id)))

    async def claim_approval(
        self, approval_id: str, *, approved: bool, decided_by: str
    ) -> PendingApprovalRow | None:
        """Move a pending approval to `approved` or declined, once.

        A decline ends as `cancelled`, or `expired` when it comes after the expiry time (the sweep, a late click).
        Returns the updated row, or None when it was already decided (a double click, another process) or,
        for an approval, when it has expired: an expired approval can still be declined, never run.
        """
        now = self.clock()
        conditions = [col(PendingApprovalRow.id) == approval_id, col(PendingApprovalRow.status) == "pending"]
        status: Any
        if approved:
            conditions.append(col(PendingApprovalRow.expires_at) > now)
            status = "approved"
        else:
            status = case((col(PendingApprovalRow.expires_at) <= now, "expired"), else_="cancelled")
        return await self._approval_transition(
            conditions, approval_id, status=status, decided_by=decided_by, at=now
        )

    async def finish_approval(self, approval_id: str, *, ok: bool) -> bool:
        """Record how an approved call ended (`done` or `failed`); False unless it was `approved`."""
        conditions = [col(PendingApprovalRow.id) == approval_id, col(PendingApprovalRow.status) == "approved"]
        status = "done" if ok else "failed"

        def _finish(session: Session) -> bool:
            stmt = update(PendingApprovalRow).where(*conditions).values(status=status)
            return session.exec(stmt).rowcount == 1

        return await self.db.run(_finish)

    async def set_approval_message(self, approval_id: str, message_ts: str) -> None:
        """Remember the Slack message carrying the buttons, so expiry can update it."""

        def _set(session: Session) -> None:
            stmt = (
                update(PendingApprovalRow)
                .where(col(PendingApprovalRow.id) == approval_id)
                .values(message_ts=message_ts)
            )
            session.exec(stmt)

        await self.db.run(_set)

    async def list_expired_approvals(
        self, *, now: datetime | None = None, limit: int = 100
    ) -> list[PendingApprovalRow]:
        """Approvals still pending after their expiry time (at `now`, default the clock), oldest first."""
        now = now or self.clock()

        def _list(session: Session) -> list[PendingApprovalRow]:
            stmt = (
                select(PendingApprovalRow)
                .where(col(PendingApprovalRow.status) == "pending", col(PendingApprovalRow.expires_at) <= now)
                .order_by(col(PendingApprovalRow.expires_at))
                .limit(limit)
            )
            return [r for r in map(_aware, session.exec(stmt)) if r is not None]

        return await self.db.run(_list)

    async def expire_approval(self, approval_id: str, *, now: datetime | None = None) -> PendingApprovalRow | None:
        """Mark one overdue pending approval `expired`, once; None when it was decided meanwhile."""
        now = now or self.clock()
        conditions = [
            col(PendingApprovalRow.id) == approval_id,
            col(PendingApprovalRow.status) == "pending",
            col(PendingApprovalRow.expires_at) <= now,
        ]
        return await self._approval_transition(conditions, approval_id, status="expired", decided_by="timeout", at=now)

    async def list_pending_approvals(self, *, conversation_id: str | None = None) -> list[PendingApprovalRow]:
        """Approvals still waiting for a decision (expired or not), oldest first."""

        def _list(session: Session) -> list[PendingApprovalRow]:
            stmt = select(PendingApprovalRow).where(col(PendingApprovalRow.status) == "pending")
            if conversation_id is not None:
                stmt = stmt.where(col(PendingApprovalRow.conversation_id) == conversation_id)
            rows = session.exec(stmt.order_by(col(PendingApprovalRow.created_at)))
            return [r for r in map(_aware, rows) if r is not None]

        return await self.db.run(_list)

    async def _approval_transition(
        self, conditions: list[Any], approval_id: str, *, status: Any, decided_by: str, at: datetime
    ) -> PendingApprovalRow | None:
        def _update(session: Session) -> PendingApprovalRow | None:
            stmt = update(PendingApprovalRow).where(*conditions).values(
                status=status, decided_by=decided_by, decided_at=at
            )
            if session.exec(stmt).rowcount != 1:
                return None
            session.flush()
            return _aware(session.get(PendingApprovalRow, approval_id, populate_existing=True))

        return await self.db.run(_update)
