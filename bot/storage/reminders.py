"""Reminder DMs: one per person per day (a unique claim row), mutes, and which Slack user a person is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from bot.storage.base import StoreBase
from bot.storage.retention import as_utc, dialect_insert
from bot.storage.tables import PersonRow, ReminderMuteRow, ReminderSentRow, SlackUserRow


class ReminderQueries(StoreBase):
    """Reminder claims, mutes, and the person → Slack user mapping."""

    async def claim_reminder(self, user_id: str, day: str) -> bool:
        """Take today's one reminder for this user (False when one was already sent or claimed)."""
        now = as_utc(self.clock())

        def _ins(session: Session) -> bool:
            stmt = (
                dialect_insert(session, ReminderSentRow)
                .values(user_id=user_id, day=day, sent_at=now)
                .on_conflict_do_nothing(index_elements=["user_id", "day"])
                .returning(col(ReminderSentRow.id))
            )
            return session.exec(stmt).first() is not None

        return await self.db.run(_ins)

    async def release_reminder(self, user_id: str, day: str) -> None:
        """Give back a claim whose DM Slack refused, so a later run may send it."""

        def _del(session: Session) -> None:
            session.exec(
                delete(ReminderSentRow).where(
                    col(ReminderSentRow.user_id) == user_id, col(ReminderSentRow.day) == day
                )
            )

        await self.db.run(_del)

    async def mute_reminders(self, user_id: str, *, until: datetime | None) -> None:
        """Mute reminder DMs for a user until a time (None: until unmuted)."""
        value = as_utc(until) if until is not None else None

        def _up(session: Session) -> None:
            stmt = (
                dialect_insert(session, ReminderMuteRow)
                .values(user_id=user_id, until=value)
                .on_conflict_do_update(index_elements=["user_id"], set_={"until": value})
            )
            session.exec(stmt)

        await self.db.run(_up)

    async def unmute_reminders(self, user_id: str) -> bool:
        """Unmute; False when the user was not muted."""

        def _del(session: Session) -> bool:
            return (
                session.exec(delete(ReminderMuteRow).where(col(ReminderMuteRow.user_id) == user_id)).rowcount
                > 0
            )

        return await self.db.run(_del)

    async def muted_users(self) -> set[str]:
        """Users whose reminders are muted now."""
        now = as_utc(self.clock())

        def _q(session: Session) -> set[str]:
            stmt = select(ReminderMuteRow.user_id).where(
                or_(col(ReminderMuteRow.until).is_(None), col(ReminderMuteRow.until) > now)
            )
            return set(session.exec(stmt).all())

        return await self.db.run(_q)

    async def slack_user_for_person(self, person_id: str) -> str | None:
        """The Slack user a ticket-backend person maps to, from the users cache or the local people table."""

        def _q(session: Session) -> str | None:
            cached = session.exec(
                select(SlackUserRow.user_id).where(SlackUserRow.backend_person_id == person_id)
            ).first()
            if cached:
                return cached
            person = session.get(PersonRow, person_id)
            return person.slack_user_id if person is not None else None

        return await self.db.run(_q)
