"""Turn leases: which process runs a turn, until when its claim holds, and taking over the turns of a dead one.

A running turn row carries an `owner` (this process: host, pid namespace, pid and a random token) and a
`lease_until`. Each process renews the leases of all its running turns with one UPDATE per heartbeat (the cost
does not grow with the number of turns). A turn is an orphan when its lease expired, or at once when its owner
provably is gone: same host and pid namespace, and its pid is not alive (or is ours, with another token: we are its
restart). Taking one over is a single conditional UPDATE on the (owner, lease) that was read, so of several
processes sweeping the same database exactly one gets each orphan.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from bot.storage.base import StoreBase
from bot.storage.tables import AuditRow, ConversationRow, PendingApprovalRow, TurnRow

LEASED_STATUSES = ("running", "recovering")
"""Turn statuses a live process holds a lease on (a paused turn waits for a click and holds none)."""
RELEASED = "released"
"""Owner of turns handed over by a process shutting down: any process may take them at once."""


@dataclass(frozen=True)
class Owner:
    """One process's identity as a lease owner."""

    host: str
    pid_ns: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}|{self.pid_ns}|{self.pid}|{self.token}"[:100]

    @classmethod
    def parse(cls, value: str | None) -> Owner | None:
        """The owner written in a turn row (None when absent or not ours to read)."""
        parts = (value or "").split("|")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3])


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "-"


@cache
def process_owner() -> Owner:
    """This process's owner identity (one per process)."""
    return Owner(socket.gethostname()[:40], _pid_namespace(), os.getpid(), uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class Leases:
    """This process's lease settings: who we are and how long a claim holds without a heartbeat
    (CHATOPS_TURN_LEASE_SECONDS); one per process, built by the wiring (`Deps.leases`)."""

    owner: Owner
    lease: timedelta

    @property
    def heartbeat_every(self) -> float:
        """Seconds between heartbeats: a third of the lease, so two may be missed before it expires."""
        return max(0.1, self.lease.total_seconds() / 3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_is_gone(owner: str | None, me: Owner) -> bool:
    """True only when the owner provably no longer runs: same host and pid namespace, and its pid is dead (or is
    ours under another token). Anything else (another machine or container) waits for its lease to expire."""
    if owner == RELEASED:
        return True
    other = Owner.parse(owner)
    if other is None or (other.host, other.pid_ns) != (me.host, me.pid_ns) or other.pid_ns == "-":
        return False
    if other.pid == me.pid:
        return other.token != me.token
    return not _alive(other.pid)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class OrphanTurn:
    """A running turn whose owner is gone, as read (the claim checks that owner and lease are unchanged)."""

    turn_id: str
    conversation_id: str
    user_id: str
    started_at: datetime
    owner: str | None
    lease_until: datetime | None
    request: dict[str, Any]
    team_id: str
    channel_id: str
    thread_ts: str


class TurnLeaseQueries(StoreBase):
    """Turn leases: heartbeat, find and claim orphans, hand over at shutdown."""

    def lease_values(self, owner: Owner, lease: timedelta) -> dict[str, Any]:
        """The columns a new running turn starts with."""
        return {"owner": str(owner), "lease_until": self.clock() + lease}

    async def heartbeat(self, owner: Owner, lease: timedelta) -> int:
        """Renew the lease of every running turn of `owner` (one UPDATE); returns how many."""
        until = self.clock() + lease

        def _renew(session: Session) -> int:
            stmt = (
                update(TurnRow)
                .where(
                    col(TurnRow.owner) == str(owner),
                    col(TurnRow.finished_at).is_(None),
                    col(TurnRow.status).in_(LEASED_STATUSES),
                )
                .values(lease_until=until)
            )
            return int(session.exec(stmt).rowcount or 0)  # type: ignore[call-overload]

        return await self.db.run(_renew)

    async def lease_turn(self, turn_id: str, owner: Owner, lease: timedelta) -> bool:
        """A paused turn runs again (an approval was decided): it is `running`, held by `owner`."""

        def _lease(session: Session) -> bool:
            stmt = (
                update(TurnRow)
                .where(col(TurnRow.id) == turn_id, col(TurnRow.finished_at).is_(None))
                .values(status="running", **self.lease_values(owner, lease))
            )
            return bool(session.exec(stmt).rowcount == 1)  # type: ignore[call-overload]

        return await self.db.run(_lease)

    async def find_orphans(
        self, me: Owner, *, gone: Callable[[str | None, Owner], bool] = owner_is_gone, limit: int = 50
    ) -> list[OrphanTurn]:
        """Running turns not held by a live process: lease expired (or never set), or owner gone; oldest first."""
        now = self.clock()

        def _find(session: Session) -> list[OrphanTurn]:
            stmt = (
                select(TurnRow, ConversationRow)
                .join(ConversationRow, col(ConversationRow.id) == col(TurnRow.conversation_id))
                .where(col(TurnRow.finished_at).is_(None), col(TurnRow.status).in_(LEASED_STATUSES))
                .order_by(col(TurnRow.started_at))
                .limit(limit * 4)
            )
            out: list[OrphanTurn] = []
            for turn, where in session.exec(stmt):
                lease = as_utc(turn.lease_until)
                expired = lease is None or lease <= now
                if not expired and not gone(turn.owner, me):
                    continue
                if turn.owner == str(me) and not expired:
                    continue  # our own turns are running here
                out.append(
                    OrphanTurn(
                        turn_id=turn.id,
                        conversation_id=turn.conversation_id,
                        user_id=turn.user_id,
                        started_at=as_utc(turn.started_at) or now,
                        owner=turn.owner,
                        lease_until=turn.lease_until,
                        request=dict(turn.request or {}),
                        team_id=where.team_id,
                        channel_id=where.channel_id,
                        thread_ts=where.thread_ts,
                    )
                )
                if len(out) >= limit:
                    break
            return out

        return await self.db.run(_find)

    async def claim_orphan(self, orphan: OrphanTurn, me: Owner, lease: timedelta) -> bool:
        """Take over an orphan, once across processes: True for exactly one caller per (owner, lease) read."""

        def _claim(session: Session) -> bool:
            conditions: list[Any] = [
                col(TurnRow.id) == orphan.turn_id,
                col(TurnRow.finished_at).is_(None),
                col(TurnRow.status).in_(LEASED_STATUSES),
                col(TurnRow.owner).is_(None) if orphan.owner is None else col(TurnRow.owner) == orphan.owner,
                col(TurnRow.lease_until).is_(None) if orphan.lease_until is None else col(TurnRow.lease_until) == orphan.lease_until,
            ]
            stmt = update(TurnRow).where(*conditions).values(status="recovering", **self.lease_values(me, lease))
            return bool(session.exec(stmt).rowcount == 1)  # type: ignore[call-overload]

        return await self.db.run(_claim)

    async def release_turns(self, owner: Owner) -> int:
        """Hand over `owner`'s running turns (shutting down): any process may take them at once."""
        past = datetime(2000, 1, 1, tzinfo=UTC)

        def _release(session: Session) -> int:
            stmt = (
                update(TurnRow)
                .where(col(TurnRow.owner) == str(owner), col(TurnRow.finished_at).is_(None), col(TurnRow.status).in_(LEASED_STATUSES))
                .values(owner=RELEASED, lease_until=past)
            )
            return int(session.exec(stmt).rowcount or 0)  # type: ignore[call-overload]

        return await self.db.run(_release)

    async def release_turns_by_id(self, turn_ids: list[str]) -> int:
        """Hand over these unfinished turns (recovery could not show its message): the next sweep takes them."""
        past = datetime(2000, 1, 1, tzinfo=UTC)

        def _release(session: Session) -> int:
            stmt = (
                update(TurnRow)
                .where(col(TurnRow.id).in_(turn_ids), col(TurnRow.finished_at).is_(None))
                .values(owner=RELEASED, lease_until=past, status="running")
            )
            return int(session.exec(stmt).rowcount or 0)  # type: ignore[call-overload]

        return await self.db.run(_release)

    async def turn_writes(self, turn_id: str) -> list[AuditRow]:
        """The write ledger rows of a turn: its model calls (`{turn_id}:…`) and its approved calls."""

        def _writes(session: Session) -> list[AuditRow]:
            approvals = [f"approval:{a}" for a in session.exec(select(col(PendingApprovalRow.id)).where(col(PendingApprovalRow.turn_id) == turn_id))]
            conditions: list[Any] = [col(AuditRow.idempotency_key).startswith(f"{turn_id}:", autoescape=True)]
            if approvals:
                conditions.append(col(AuditRow.idempotency_key).in_(approvals))
            stmt = select(AuditRow).where(col(AuditRow.action) == "write", or_(*conditions)).order_by(col(AuditRow.id))
            return list(session.exec(stmt))

        return await self.db.run(_writes)

    async def approvals_of_turn(self, turn_id: str) -> list[PendingApprovalRow]:
        """The approvals a turn asked for, oldest first."""
        stmt = select(PendingApprovalRow).where(col(PendingApprovalRow.turn_id) == turn_id).order_by(col(PendingApprovalRow.created_at))
        return await self.db.run(lambda s: list(s.exec(stmt)))

    async def settle_approval(self, approval_id: str, status: str) -> bool:
        """Record the reconciled outcome of an approved call left `approved` by a crash (`done`, `failed`, `unknown`)."""

        def _settle(session: Session) -> bool:
            stmt = (
                update(PendingApprovalRow)
                .where(col(PendingApprovalRow.id) == approval_id, col(PendingApprovalRow.status) == "approved")
                .values(status=status)
            )
            return bool(session.exec(stmt).rowcount == 1)  # type: ignore[call-overload]

        return await self.db.run(_settle)
