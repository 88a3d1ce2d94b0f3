"""Schedules (audited) and run claims with leases.

A scheduled run is identified by `(schedule_id, scheduled_for)`. Every process that wants to run a slot first
claims it: a unique insert (`ON CONFLICT DO NOTHING`) makes exactly one process the owner, with a lease. Every
later state change is one conditional `UPDATE ... WHERE owner = me AND status = ...`, so of two processes racing
for the same row at most one sees `rowcount == 1`. A run whose owner died may be taken over once its lease
expired, but only while it is still `running` (it never started posting); `posting` rows are never re-run.

Run states: `running` → `posting` → `done` | `failed`; `running` → `retrying` (lease_until = retry time) →
`running` again (attempts + 1); `running` → `failed` | `skipped`; `missed` (slot passed while all were down);
`abandoned` (the owner died while posting: nothing is re-posted, to never send a message twice).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.storage.reminders import ReminderQueries
from bot.storage.retention import RetentionQueries, as_utc, dialect_insert
from bot.storage.tables import (
    AuditRow,
    ScheduleRow,
    ScheduleRunRow,
)

RunStatus = Literal["running", "posting", "done", "retrying", "failed", "skipped", "missed", "abandoned"]
ScheduleAction = Literal["add", "edit", "pause", "resume", "delete", "auto_pause"]


@dataclass(frozen=True)
class RunClaim:
    """Proof that this process owns one slot's run until `lease_until` (or until it finishes)."""

    run_id: int
    schedule_id: str
    scheduled_for: datetime
    owner: str
    attempts: int
    lease_until: datetime


class ScheduleQueries(ReminderQueries, RetentionQueries):
    """Schedules and run claims with leases (reminder and retention queries come with it, from their modules)."""

    # ------------------------------------------------------------ schedules (every change audited)

    async def list_schedules(
        self, *, kind: str | None = None, enabled_only: bool = False
    ) -> list[ScheduleRow]:
        """Schedules, oldest first."""

        def _q(session: Session) -> list[ScheduleRow]:
            stmt = select(ScheduleRow).order_by(col(ScheduleRow.created_at), col(ScheduleRow.id))
            if kind is not None:
                stmt = stmt.where(ScheduleRow.kind == kind)
            if enabled_only:
                stmt = stmt.where(col(ScheduleRow.enabled).is_(True))
            return list(session.exec(stmt).all())

        return await self.db.run(_q)

    async def get_schedule(self, schedule_id: str) -> ScheduleRow | None:
        """One schedule, or None."""
        return await self.db.run(lambda s: s.get(ScheduleRow, schedule_id))

    async def save_schedule(self, row: ScheduleRow, *, by: str, action: ScheduleAction) -> ScheduleRow:
        """Insert or replace a schedule and audit the change, in one transaction."""
        now = self.clock()

        def _save(session: Session) -> ScheduleRow:
            existing = session.get(ScheduleRow, row.id)
            if existing is None:
                row.created_at = getattr(row, "created_at", None) or now
                row.updated_at = now
                session.add(row)
                saved = row
            else:
                for name in (
                    "name",
                    "kind",
                    "channel_id",
                    "project_key",
                    "cron",
                    "timezone",
                    "enabled",
                    "options",
                ):
                    setattr(existing, name, getattr(row, name))
                existing.updated_at = now
                saved = existing
            _audit(session, now, by=by, action=action, schedule=saved)
            session.flush()
            return saved

        return await self.db.run(_save)

    async def set_schedule_enabled(
        self, schedule_id: str, enabled: bool, *, by: str, action: ScheduleAction, reason: str | None = None
    ) -> ScheduleRow | None:
        """Pause or resume; None when the schedule does not exist."""
        now = self.clock()

        def _set(session: Session) -> ScheduleRow | None:
            row = session.get(ScheduleRow, schedule_id)
            if row is None:
                return None
            row.enabled = enabled
            row.updated_at = now
            _audit(session, now, by=by, action=action, schedule=row, reason=reason)
            session.flush()
            return row

        return await self.db.run(_set)

    async def delete_schedule(self, schedule_id: str, *, by: str) -> ScheduleRow | None:
        """Delete a schedule (its run history stays until housekeeping); None when it did not exist."""
        now = self.clock()

        def _del(session: Session) -> ScheduleRow | None:
            row = session.get(ScheduleRow, schedule_id)
            if row is None:
                return None
            _audit(session, now, by=by, action="delete", schedule=row)
            session.delete(row)
            return row

        return await self.db.run(_del)

    async def schedules_version(self) -> str:
        """A fingerprint of every schedule row: it changes whenever a schedule is added, edited or removed.

        A fingerprint rather than a counter row: it needs no shared write, and clock skew between processes
        cannot hide a change (a max(updated_at) could)."""

        def _q(session: Session) -> str:
            digest = hashlib.sha256()
            for row in session.exec(select(ScheduleRow).order_by(col(ScheduleRow.id))).all():
                stamp = as_utc(row.updated_at).isoformat()
                digest.update(f"{row.id}|{stamp}|{row.enabled}|{row.cron}|{row.timezone}\n".encode())
            return digest.hexdigest()[:16]

        return await self.db.run(_q)

    # ------------------------------------------------------------ run claims and leases

    async def claim_run(
        self, schedule_id: str, scheduled_for: datetime, *, owner: str, lease: timedelta
    ) -> RunClaim | None:
        """Own this slot: insert its run row, or take over a run whose owner died before posting or whose retry
        is due. None when another process owns it or it already ended."""
        now = as_utc(self.clock())
        slot = as_utc(scheduled_for)
        until = now + lease

        def _claim(session: Session) -> RunClaim | None:
            stmt = (
                dialect_insert(session, ScheduleRunRow)
                .values(
                    schedule_id=schedule_id,
                    scheduled_for=slot,
                    owner=owner,
                    lease_until=until,
                    status="running",
                    attempts=1,
                    started_at=now,
                )
                .on_conflict_do_nothing(index_elements=["schedule_id", "scheduled_for"])
                .returning(col(ScheduleRunRow.id))
            )
            inserted = session.exec(stmt).first()
            if inserted is not None:
                return RunClaim(inserted[0], schedule_id, slot, owner, 1, until)
            # Taken: we may take it over only if its lease ran out before it posted, or its retry is due.
            takeover = (
                update(ScheduleRunRow)
                .where(
                    col(ScheduleRunRow.schedule_id) == schedule_id,
                    col(ScheduleRunRow.scheduled_for) == slot,
                    col(ScheduleRunRow.lease_until) <= now,
                    col(ScheduleRunRow.message_ts).is_(None),
                    col(ScheduleRunRow.status).in_(("running", "retrying")),
                )
                .values(
                    owner=owner,
                    lease_until=until,
                    status="running",
                    attempts=col(ScheduleRunRow.attempts) + 1,
                    started_at=now,
                )
                .returning(col(ScheduleRunRow.id), col(ScheduleRunRow.attempts))
            )
            taken = session.exec(takeover).first()
            if taken is None:
                return None
            return RunClaim(taken[0], schedule_id, slot, owner, taken[1], until)

        return await self.db.run(_claim)

    async def begin_posting(self, claim: RunClaim, *, lease: timedelta) -> bool:
        """Mark the run as posting (renewing the lease); False when this process no longer owns it."""
        now = as_utc(self.clock())
        return await self._run_transition(claim, {"running"}, status="posting", lease_until=now + lease)

    async def renew_lease(self, claim: RunClaim, *, lease: timedelta) -> bool:
        """Extend this process's lease while it works; False when it no longer owns the run."""
        now = as_utc(self.clock())
        return await self._run_transition(claim, {"running", "posting"}, lease_until=now + lease)

    async def finish_run(
        self,
        claim: RunClaim,
        *,
        status: RunStatus,
        message_ts: str | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Record how this attempt ended; `retry_at` (with status `retrying`) is when any process may retry."""
        now = as_utc(self.clock())
        values: dict[str, Any] = {"status": status, "error": error}
        if message_ts is not None:
            values["message_ts"] = message_ts
        if status == "retrying":
            if retry_at is None:
                raise ValueError("a retrying run needs retry_at")
            values["lease_until"] = as_utc(retry_at)
        else:
            values["finished_at"] = now
        return await self._run_transition(claim, {"running", "posting"}, **values)

    async def _run_transition(self, claim: RunClaim, from_statuses: set[str], **values: Any) -> bool:
        def _upd(session: Session) -> bool:
            stmt = (
                update(ScheduleRunRow)
                .where(
                    col(ScheduleRunRow.id) == claim.run_id,
                    col(ScheduleRunRow.owner) == claim.owner,
                    col(ScheduleRunRow.attempts) == claim.attempts,
                    col(ScheduleRunRow.status).in_(sorted(from_statuses)),
                )
                .values(**values)
            )
            return session.exec(stmt).rowcount == 1

        return await self.db.run(_upd)

    async def record_missed(
        self, schedule_id: str, scheduled_for: datetime, *, owner: str, reason: str
    ) -> bool:
        """Record a slot that passed while no process ran it (True when this call recorded it)."""
        now = as_utc(self.clock())

        def _ins(session: Session) -> bool:
            stmt = (
                dialect_insert(session, ScheduleRunRow)
                .values(
                    schedule_id=schedule_id,
                    scheduled_for=as_utc(scheduled_for),
                    owner=owner,
                    lease_until=now,
                    status="missed",
                    attempts=0,
                    started_at=now,
                    finished_at=now,
                    error=reason,
                )
                .on_conflict_do_nothing(index_elements=["schedule_id", "scheduled_for"])
                .returning(col(ScheduleRunRow.id))
            )
            return session.exec(stmt).first() is not None

        return await self.db.run(_ins)

    async def get_run(self, schedule_id: str, scheduled_for: datetime) -> ScheduleRunRow | None:
        """The run of one slot, or None."""

        def _q(session: Session) -> ScheduleRunRow | None:
            stmt = select(ScheduleRunRow).where(
                ScheduleRunRow.schedule_id == schedule_id,
                ScheduleRunRow.scheduled_for == as_utc(scheduled_for),
            )
            return session.exec(stmt).first()

        return await self.db.run(_q)

    async def recorded_slots(self, schedule_ids: list[str], since: datetime) -> set[tuple[str, datetime]]:
        """(schedule_id, scheduled_for) of every run row at or after `since` for these schedules."""

        def _q(session: Session) -> set[tuple[str, datetime]]:
            if not schedule_ids:
                return set()
            stmt = select(ScheduleRunRow.schedule_id, ScheduleRunRow.scheduled_for).where(
                col(ScheduleRunRow.schedule_id).in_(schedule_ids),
                col(ScheduleRunRow.scheduled_for) >= as_utc(since),
            )
            return {(sid, as_utc(at)) for sid, at in session.exec(stmt).all()}

        return await self.db.run(_q)

    async def list_runs(self, schedule_id: str, *, limit: int = 10) -> list[ScheduleRunRow]:
        """The latest runs of a schedule, newest slot first."""

        def _q(session: Session) -> list[ScheduleRunRow]:
            stmt = (
                select(ScheduleRunRow)
                .where(ScheduleRunRow.schedule_id == schedule_id)
                .order_by(col(ScheduleRunRow.scheduled_for).desc())
                .limit(limit)
            )
            return list(session.exec(stmt).all())

        return await self.db.run(_q)

    async def due_runs(self) -> list[ScheduleRunRow]:
        """Runs another process may pick up now: retries that are due, and runs whose owner's lease expired."""
        now = as_utc(self.clock())

        def _q(session: Session) -> list[ScheduleRunRow]:
            stmt = select(ScheduleRunRow).where(
                col(ScheduleRunRow.lease_until) <= now,
                col(ScheduleRunRow.message_ts).is_(None),
                col(ScheduleRunRow.status).in_(("running", "retrying")),
            )
            return list(session.exec(stmt).all())

        return await self.db.run(_q)

    async def abandon_stale_posting(self, *, reason: str) -> list[ScheduleRunRow]:
        """Close runs whose owner died while posting (lease expired): they are never re-posted."""
        now = as_utc(self.clock())

        def _q(session: Session) -> list[ScheduleRunRow]:
            where = (col(ScheduleRunRow.status) == "posting", col(ScheduleRunRow.lease_until) <= now)
            rows = list(session.exec(select(ScheduleRunRow).where(*where)).all())
            if rows:
                ids = [r.id for r in rows]
                session.exec(
                    update(ScheduleRunRow)
                    .where(col(ScheduleRunRow.id).in_(ids), *where)
                    .values(status="abandoned", finished_at=now, error=reason)
                    .execution_options(synchronize_session=False)
                )
            return rows

        return await self.db.run(_q)


def _audit(
    session: Session,
    now: datetime,
    *,
    by: str,
    action: ScheduleAction,
    schedule: ScheduleRow,
    reason: str | None = None,
) -> None:
    details: dict[str, Any] = {
        "name": schedule.name,
        "kind": schedule.kind,
        "channel_id": schedule.channel_id,
        "project_key": schedule.project_key,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "options": schedule.options,
    }
    if reason:
        details["reason"] = reason
    session.add(
        AuditRow(
            at=now,
            user_id=by,
            action=f"schedule.{action}",
            target=schedule.id,
            status="done",
            details=details,
        )
    )
