"""The audit log and the write ledger (idempotency keys).

A write claims its idempotency key (a unique column) in its own committed transaction before it is sent. A second
claim of the same key fails on the unique constraint, so the write is never sent twice, even across processes.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.base import StoreBase
from bot.storage.tables import AuditRow

AuditAction = Literal["write", "denied", "cancelled", "expired", "approval", "config", "role"]


class AuditQueries(StoreBase):
    """The audit log and the write ledger (idempotency keys)."""

    async def claim_write(
        self,
        *,
        key: str,
        user_id: str,
        tool: str,
        target: str | None,
        conversation_id: str | None,
        tool_use_id: str | None,
        details: dict[str, Any] | None = None,
    ) -> bool:
        """Record a write as `started` under `key`; False when the key was claimed before (do not send)."""
        row = AuditRow(
            at=self.clock(),
            user_id=user_id,
            action="write",
            tool=tool,
            target=(target or None) and target[:100],
            status="started",
            details=details,
            conversation_id=conversation_id,
            tool_use_id=tool_use_id,
            idempotency_key=key,
        )
        try:
            await self.db.run(lambda s: s.add(row))
        except IntegrityError:
            return False
        return True

    async def finish_write(
        self, key: str, *, status: str, details: dict[str, Any] | None = None, target: str | None = None
    ) -> None:
        """Record how a claimed write ended (`done`, `error`, `timeout`): `details` are merged into the claim's (its
        arguments stay), and `target`, when given, replaces the claim's (e.g. a created ticket's new key)."""

        def _finish(session: Session) -> None:
            # Read, merge, write: only the claimer of a key finishes it, so nothing races this row.
            row = session.exec(select(AuditRow).where(col(AuditRow.idempotency_key) == key)).first()
            if row is None:
                return
            row.status = status
            if details:
                row.details = {**(row.details or {}), **details}  # a new dict: JSON columns do not track mutation
            if target:
                row.target = target[:100]
            session.add(row)

        await self.db.run(_finish)

    async def record_audit(
        self,
        *,
        user_id: str,
        action: AuditAction,
        status: str = "done",
        tool: str | None = None,
        target: str | None = None,
        details: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        tool_use_id: str | None = None,
    ) -> None:
        """Append one audit row (denials, declined approvals, configuration changes)."""
        row = AuditRow(
            at=self.clock(),
            user_id=user_id,
            action=action,
            tool=tool,
            target=(target or None) and target[:100],
            status=status,
            details=details,
            conversation_id=conversation_id,
            tool_use_id=tool_use_id,
        )
        await self.db.run(lambda s: s.add(row))

    async def audit_for_key(self, key: str) -> AuditRow | None:
        """The ledger row of an idempotency key."""
        return await self.db.run(lambda s: s.exec(select(AuditRow).where(col(AuditRow.idempotency_key) == key)).first())

    async def list_audit(
        self, *, user_id: str | None = None, action: str | None = None, conversation_id: str | None = None, limit: int = 100
    ) -> list[AuditRow]:
        """Audit rows, oldest first, optionally filtered."""
        stmt = select(AuditRow)
        if user_id is not None:
            stmt = stmt.where(col(AuditRow.user_id) == user_id)
        if action is not None:
            stmt = stmt.where(col(AuditRow.action) == action)
        if conversation_id is not None:
            stmt = stmt.where(col(AuditRow.conversation_id) == conversation_id)
        stmt = stmt.order_by(col(AuditRow.id)).limit(limit)
        return await self.db.run(lambda s: list(s.exec(stmt)))
