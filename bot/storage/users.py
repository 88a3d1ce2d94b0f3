"""Cache of Slack users (name, email from users.info) and what the App Home lists for a user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.base import StoreBase
from bot.storage.tables import ConversationRow, MessageRow, SlackUserRow


@dataclass(frozen=True)
class RecentConversation:
    """One of a user's conversations, for the App Home."""

    channel_id: str
    thread_ts: str
    updated_at: datetime
    title: str


# The loop opens a turn's first user message with a bracketed header and, for shortcuts, the quoted Slack
# context (bot/agent/loop.py `_opening`); the title is what the person asked.
_HEADER = re.compile(r"^\s*\[[^\]\n]*\]\s*")
_CONTEXT = re.compile(r"<slack_thread\b[\s\S]*?</slack_thread>\s*(\([^)\n]*\))?\s*")


def question_of(content: list[dict[str, Any]] | None) -> str:
    """The question in a stored user message, without the loop's header and quoted context."""
    for block in content or []:
        text = str(block.get("text", "")) if block.get("type") == "text" else ""
        question = _CONTEXT.sub("", _HEADER.sub("", text, count=1)).strip()
        if question:
            return question
    return ""


class UserQueries(StoreBase):
    """Cache of Slack users (name, email, backend person)."""

    async def cached_slack_user(self, user_id: str, *, max_age: timedelta) -> SlackUserRow | None:
        """The cached users.info of `user_id` when fetched within `max_age`, else None."""
        oldest = self.clock() - max_age

        def _get(session: Session) -> SlackUserRow | None:
            row = session.get(SlackUserRow, user_id)
            if row is None or row.fetched_at.replace(tzinfo=oldest.tzinfo) < oldest:
                return None
            return row

        return await self.db.run(_get)

    async def save_slack_user(self, *, user_id: str, name: str | None, email: str | None) -> SlackUserRow:
        """Store (or refresh) a user's name and email; the mapped backend person is kept."""
        now = self.clock()

        def _upsert(session: Session) -> SlackUserRow:
            row = session.get(SlackUserRow, user_id)
            if row is None:
                row = SlackUserRow(user_id=user_id, name=name, email=email, fetched_at=now)
                session.add(row)
            else:
                row.name, row.email, row.fetched_at = name, email, now
            session.flush()
            return row

        try:
            return await self.db.run(_upsert)
        except IntegrityError:
            # another process cached the same user at the same moment: its row exists now, update it
            return await self.db.run(_upsert)

    async def recent_conversations(self, user_id: str, *, limit: int = 5) -> list[RecentConversation]:
        """The user's most recently active Slack conversations, newest first, titled by their first question."""

        def _query(session: Session) -> list[RecentConversation]:
            rows = session.exec(
                select(ConversationRow)
                # Slack threads only: terminal sessions (bot/shell.py) live in "shell-<user>" pseudo-channels
                .where(ConversationRow.user_id == user_id, col(ConversationRow.channel_id).not_like("shell-%"))
                .order_by(col(ConversationRow.updated_at).desc())
                .limit(limit)
            ).all()
            out: list[RecentConversation] = []
            for row in rows:
                first = session.exec(
                    select(MessageRow)
                    .where(MessageRow.conversation_id == row.id, MessageRow.role == "user")
                    .order_by(col(MessageRow.seq))
                    .limit(1)
                ).first()
                title = " ".join(question_of(first.content if first else None).split())
                out.append(
                    RecentConversation(
                        channel_id=row.channel_id, thread_ts=row.thread_ts, updated_at=row.updated_at, title=title
                    )
                )
            return out

        return await self.db.run(_query)
