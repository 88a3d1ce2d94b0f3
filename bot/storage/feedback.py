"""Answers posted in Slack and the 👍/👎 people give them; each person's last agent-view context.

An answer row is written when a turn's answer is on screen: the message that carries it (team, channel, ts) and
what produced it (turn, model, tools with their durations, tokens, latency). A feedback click finds the answer
by the message Slack says was clicked (never by anything in the button's value) and stores one rating per person
per answer: a second click changes it. The weekly summary for admins is computed from these two tables.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage import turn_sql
from bot.storage.base import StoreBase
from bot.storage.tables import AgentContextRow, AnswerRow, FeedbackRow

Rating = Literal["up", "down"]
RATINGS: tuple[Rating, ...] = ("up", "down")
COMMENT_MAX_CHARS = 2_000
"""A "what went wrong" note longer than this is cut (the modal's input allows no more)."""


@dataclass(frozen=True)
class AnswerRecord:
    """What is stored about one posted answer."""

    team_id: str
    channel_id: str
    message_ts: str
    thread_ts: str
    turn_id: str
    user_id: str
    model: str
    status: str
    tools: list[dict[str, Any]]
    """One entry per call: {"tool", "outcome", "ms"}."""
    input_tokens: int
    output_tokens: int
    latency_ms: float


@dataclass(frozen=True)
class Rated:
    """The outcome of a click: the stored rating, and whether it was new or changed."""

    rating: Rating
    created: bool
    changed: bool


@dataclass(frozen=True)
class ToolTiming:
    """How long one tool took over the window."""

    tool: str
    calls: int
    median_ms: float
    max_ms: float


@dataclass(frozen=True)
class FeedbackSummary:
    """The admins' weekly view: volume, ratings, tools behind 👎 answers, slowest tools."""

    since: datetime
    answers: int
    up: int
    down: int
    commented: int
    down_tools: list[tuple[str, int]] = field(default_factory=list)
    """Tools called in 👎-rated answers, most frequent first: (tool, answers)."""
    slowest: list[ToolTiming] = field(default_factory=list)


def summarize(
    answers: list[AnswerRow], feedback: list[FeedbackRow], *, since: datetime, top: int = 5
) -> FeedbackSummary:
    """The summary of these answers and the feedback on them (pure, for tests and the query below)."""
    ratings = Counter(f.rating for f in feedback)
    down_ids = {f.answer_id for f in feedback if f.rating == "down"}
    down_tools: Counter[str] = Counter()
    durations: dict[str, list[float]] = defaultdict(list)
    for answer in answers:
        names = set()
        for call in answer.tools or []:
            name = str(call.get("tool") or "")
            if not name:
                continue
            names.add(name)
            try:
                durations[name].append(float(call.get("ms") or 0.0))
            except (TypeError, ValueError):
                continue
        if answer.id in down_ids:
            down_tools.update(names)
    slowest = sorted(
        (ToolTiming(tool=t, calls=len(ms), median_ms=statistics.median(ms), max_ms=max(ms)) for t, ms in durations.items() if ms),
        key=lambda t: (-t.median_ms, t.tool),
    )
    return FeedbackSummary(
        since=since,
        answers=len(answers),
        up=ratings.get("up", 0),
        down=ratings.get("down", 0),
        commented=sum(1 for f in feedback if f.comment),
        down_tools=sorted(down_tools.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
        slowest=slowest[:top],
    )


class FeedbackQueries(StoreBase):
    """Answers, feedback on them, and agent-view context."""

    async def record_answer(self, record: AnswerRecord, *, on_turn: bool = False) -> str | None:
        """Store a posted answer; returns its id (None when this message was recorded before). With `on_turn`, the
        same transaction records the message on its turn row too (what `set_answer_ts` does): one round trip
        after an answer instead of two."""
        answer_id = uuid.uuid4().hex
        values = {"id": answer_id, "created_at": self.clock(), **record.__dict__}

        if self.db.is_postgres:  # one statement (bot/storage/turn_sql.py)
            params = values | {"tools": turn_sql.json_value(record.tools), "answer_ts": record.message_ts[:32], "on_turn": on_turn}
            return answer_id if await self.db.run_driver(turn_sql.PG_ANSWER, params) else None

        def _insert(conn: Connection) -> str | None:
            # statements built once (bot/storage/turn_sql.py): every answer runs them
            if on_turn:
                conn.execute(turn_sql.SET_ANSWER_TS, {"w_id": record.turn_id, "v_answer_ts": record.message_ts[:32]})
            # a message recorded before keeps its row (and the turn its answer_ts): nothing to roll back
            inserted = conn.execute(turn_sql.insert_answer(conn.dialect.name), values).first()
            return answer_id if inserted is not None else None

        return await self.db.run_conn(_insert)

    async def answer_at(self, *, team_id: str, channel_id: str, message_ts: str) -> AnswerRow | None:
        """The answer carried by this Slack message of this workspace, if it is one of ours."""

        def _get(session: Session) -> AnswerRow | None:
            query = select(AnswerRow).where(
                AnswerRow.team_id == team_id, AnswerRow.channel_id == channel_id, AnswerRow.message_ts == message_ts
            )
            return session.exec(query).first()

        return await self.db.run(_get)

    async def answer_by_id(self, answer_id: str) -> AnswerRow | None:
        """One answer by its id."""
        return await self.db.run(lambda s: s.get(AnswerRow, answer_id))

    async def rate_answer(self, *, answer_id: str, user_id: str, rating: Rating) -> Rated:
        """Store `user_id`'s rating of the answer: once per person, a second click replaces the first (a change to 👍
        drops the "what went wrong" note)."""
        now = self.clock()

        def _update(session: Session) -> Rated | None:
            existing = session.exec(
                select(FeedbackRow).where(FeedbackRow.answer_id == answer_id, FeedbackRow.user_id == user_id)
            ).first()
            if existing is None:
                return None
            changed = existing.rating != rating
            if changed:
                existing.rating = rating
                existing.updated_at = now
                if rating == "up":
                    existing.comment = None
                session.add(existing)
            return Rated(rating=rating, created=False, changed=changed)

        def _rate(session: Session) -> Rated:
            found = _update(session)
            if found is not None:
                return found
            try:
                session.add(FeedbackRow(answer_id=answer_id, user_id=user_id, rating=rating, created_at=now, updated_at=now))
                session.flush()
            except IntegrityError:  # a concurrent first click of the same person won: update theirs
                session.rollback()
                again = _update(session)
                assert again is not None
                return again
            return Rated(rating=rating, created=True, changed=True)

        return await self.db.run(_rate)

    async def comment_feedback(self, *, answer_id: str, user_id: str, comment: str) -> bool:
        """Attach a "what went wrong" note to this person's 👎 on the answer; False when they have none."""
        text = comment.strip()[:COMMENT_MAX_CHARS] or None
        now = self.clock()

        def _comment(session: Session) -> bool:
            row = session.exec(
                select(FeedbackRow).where(FeedbackRow.answer_id == answer_id, FeedbackRow.user_id == user_id)
            ).first()
            if row is None or row.rating != "down":
                return False
            row.comment = text
            row.updated_at = now
            session.add(row)
            return True

        return await self.db.run(_comment)

    async def feedback_of(self, answer_id: str) -> list[FeedbackRow]:
        """Every rating of one answer, oldest first."""

        def _list(session: Session) -> list[FeedbackRow]:
            query = select(FeedbackRow).where(FeedbackRow.answer_id == answer_id).order_by(col(FeedbackRow.id))
            return list(session.exec(query))

        return await self.db.run(_list)

    async def feedback_summary(self, *, days: int = 7) -> FeedbackSummary:
        """The summary of answers posted in the last `days` days and the feedback on them."""
        since = self.clock() - timedelta(days=days)

        def _load(session: Session) -> tuple[list[AnswerRow], list[FeedbackRow]]:
            answers = list(session.exec(select(AnswerRow).where(col(AnswerRow.created_at) >= since)))
            ids = [a.id for a in answers]
            feedback = list(session.exec(select(FeedbackRow).where(col(FeedbackRow.answer_id).in_(ids)))) if ids else []
            return answers, feedback

        answers, feedback = await self.db.run(_load)
        return summarize(answers, feedback, since=since)

    async def save_agent_context(self, user_id: str, entities: list[dict[str, Any]]) -> None:
        """Remember what `user_id` is viewing now (replacing what they viewed before)."""
        now = self.clock()

        def _save(session: Session) -> None:
            row = session.get(AgentContextRow, user_id)
            if row is None:
                try:
                    session.add(AgentContextRow(user_id=user_id, entities=entities, updated_at=now))
                    session.flush()
                    return
                except IntegrityError:
                    session.rollback()
                    row = session.get(AgentContextRow, user_id)
                    if row is None:
                        return
            row.entities = entities
            row.updated_at = now
            session.add(row)

        await self.db.run(_save)

    async def agent_context(self, user_id: str, *, max_age: timedelta) -> list[dict[str, Any]]:
        """What `user_id` was last viewing, when Slack said so within `max_age` (else nothing)."""
        oldest = self.clock() - max_age

        def _get(session: Session) -> list[dict[str, Any]]:
            row = session.get(AgentContextRow, user_id)
            if row is None or row.updated_at.replace(tzinfo=oldest.tzinfo) < oldest:
                return []
            return list(row.entities or [])

        return await self.db.run(_get)

    async def purge_answers(self, *, before: datetime, contexts_before: datetime) -> dict[str, int]:
        """Housekeeping: answers posted before `before` with their feedback, and views remembered before
        `contexts_before`."""

        def _purge(session: Session) -> dict[str, int]:
            old = select(AnswerRow.id).where(col(AnswerRow.created_at) < before)
            feedback = session.exec(delete(FeedbackRow).where(col(FeedbackRow.answer_id).in_(old))).rowcount  # type: ignore[call-overload]
            answers = session.exec(delete(AnswerRow).where(col(AnswerRow.created_at) < before)).rowcount  # type: ignore[call-overload]
            views = session.exec(delete(AgentContextRow).where(col(AgentContextRow.updated_at) < contexts_before)).rowcount  # type: ignore[call-overload]
            return {"answers": int(answers or 0), "answer_feedback": int(feedback or 0), "agent_contexts": int(views or 0)}

        return await self.db.run(_purge)
