"""Conversations, messages, turns and tool-call rows.

A turn starts with one transaction (find or create the conversation, read its messages, insert the turn row) and
ends with one (append the turn's messages, its tool-call rows and the turn's outcome), so a crash never leaves
half a turn in the history.

Where a call's trace is: the conversation (team, channel, thread) → the turn that made the call (its tool_calls
row) → the Slack message that carries the turn's answer and trace (`answer_ts`, set once it is posted).
`trace_link(conversation_id, tool_use_id)` follows that path from an audit row.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.logs import get_logger, log_event
from bot.storage import turn_sql as sql
from bot.storage.base import StoreBase
from bot.storage.events import DeliveryTaken, claim_keys, insert_claim
from bot.storage.tables import ConversationRow, ToolCallRow, TurnRow
from integrations.llm.base import Message, Usage

logger = get_logger("storage")

_LEASE_COLUMNS = frozenset({"owner", "lease_until", "request"})
"""The columns a new turn may start with beyond its own (`lease`, bot/storage/leases.py)."""
_UPDATED_ON_DECISION = {"arguments", "decision", "decision_reason", "outcome", "result", "error", "duration_ms"}


@dataclass(frozen=True)
class TurnStart:
    """What a new turn needs from the database."""

    conversation_id: str
    messages: list[Message]


@dataclass(frozen=True)
class TraceLink:
    """Where the trace of one tool call lives: the thread, the turn, and the answer message (when posted)."""

    conversation_id: str
    tool_use_id: str
    turn_id: str
    team_id: str
    channel_id: str
    thread_ts: str
    answer_ts: str | None


@dataclass(frozen=True)
class _NewTurn:
    """What `begin_turn` was asked to start: where, by whom, its id, its extra turn columns and its claim keys."""

    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str
    turn_id: str
    extra: dict[str, Any]
    claim: Sequence[str]


@dataclass
class TurnEnd:
    """What a finished (or paused) turn writes."""

    turn_id: str
    conversation_id: str
    status: str
    steps: int
    usage: Usage
    messages: list[Message]
    tool_calls: list[dict[str, Any]]
    """ToolCallRow fields (plain dicts: validating SQLModel rows costs ~0.7 ms each)."""
    stop_reason: str | None = None
    error: str | None = None
    final: bool = True
    """False for a paused turn: finished_at stays empty."""


class ConversationQueries(StoreBase):
    """Conversations, messages, turns and tool-call rows."""

    async def begin_turn(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        turn_id: str,
        lease: dict[str, Any] | None = None,
        claim: Sequence[str] = (),
    ) -> TurnStart:
        """Find or create the thread's conversation, read its messages and insert a running turn row (with `lease`:
        extra turn columns, its owner, lease and request; see bot/storage/leases.py).

        With `claim` (delivery keys, bot/storage/events.py) the delivery is claimed in the same transaction:
        `DeliveryTaken` (and nothing written) when another delivery has any of the keys."""
        new = _NewTurn(team_id, channel_id, thread_ts, user_id, turn_id, lease or {}, claim)
        unknown = new.extra.keys() - _LEASE_COLUMNS
        if unknown:  # a programming error on either database (PostgreSQL's statement would drop them silently)
            raise TypeError(f"not lease columns: {sorted(unknown)}")
        if self.db.is_postgres:  # one statement (bot/storage/turn_sql.py); its upsert settles concurrent starts
            return await self._begin_pg(new)
        try:
            return await self.db.run_conn(lambda c: self._begin(c, new))
        except IntegrityError:
            # A concurrent start in another process (the upsert covers most such races; this is a second chance).
            return await self.db.run_conn(lambda c: self._begin(c, new))

    async def _begin_pg(self, new: _NewTurn) -> TurnStart:
        extra = new.extra
        keys = claim_keys(new.claim)
        fresh = uuid.uuid4().hex
        params = {
            "keys": keys, "key_count": len(keys), "now": self.clock(), "fresh": fresh, "team_id": new.team_id,
            "channel_id": new.channel_id, "thread_ts": new.thread_ts, "user_id": new.user_id, "turn_id": new.turn_id,
            "owner": extra.get("owner"), "lease_until": extra.get("lease_until"), "request": sql.json_value(extra.get("request")),
        }  # fmt: skip
        rows = await self.db.run_driver(sql.PG_BEGIN, params)
        won, conversation_id = rows[0][0], rows[0][1]
        if not won:
            raise DeliveryTaken
        history = [row[2:] for row in rows if row[2] is not None]  # (seq, role, content) of each earlier message
        return TurnStart(conversation_id=conversation_id, messages=self._read(conversation_id, history))

    def _begin(self, conn: Connection, new: _NewTurn) -> TurnStart:
        # Statements built once (bot/storage/turn_sql.py): this runs for every turn.
        now = self.clock()
        if new.claim and not insert_claim(conn, new.claim, now):
            raise DeliveryTaken  # the transaction rolls back: no claim, conversation or turn of this delivery stays
        # one statement creates the thread's conversation or touches it; the id it returns says which
        fresh = uuid.uuid4().hex
        row = {"id": fresh, "team_id": new.team_id, "channel_id": new.channel_id, "thread_ts": new.thread_ts, "user_id": new.user_id}
        upsert = sql.upsert_conversation(conn.dialect.name)
        conversation_id = conn.execute(upsert, row | {"created_at": now, "updated_at": now}).scalar_one()
        messages = [] if conversation_id == fresh else self._messages(conn, conversation_id)
        conn.execute(
            sql.INSERT_TURN,
            {
                "id": new.turn_id,
                "conversation_id": conversation_id,
                "user_id": new.user_id,
                "started_at": now,
                "status": "running",
                "steps": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                **new.extra,
            },
        )
        return TurnStart(conversation_id=conversation_id, messages=messages)

    def _messages(self, conn: Connection, conversation_id: str) -> list[Message]:
        return self._read(conversation_id, conn.execute(sql.READ_MESSAGES, {"conversation_id": conversation_id}))

    @staticmethod
    def _read(conversation_id: str, rows: Iterable[Sequence[Any]]) -> list[Message]:
        out: list[Message] = []
        for seq, role, content in rows:
            try:
                out.append(Message.model_validate({"role": role, "content": content or []}))
            except ValidationError:
                # One unreadable row must not make the whole thread unusable.
                log_event(logger, "skipped unreadable message", logging.WARNING, conversation_id=conversation_id, seq=seq)
        return out

    async def load_messages(self, conversation_id: str) -> list[Message]:
        """Every stored message of a conversation, oldest first."""
        return await self.db.run_conn(lambda c: self._messages(c, conversation_id))

    async def end_turn(self, end: TurnEnd) -> None:
        """Append the turn's messages and tool-call rows and record its outcome, in one transaction."""
        if self.db.is_postgres and not end.tool_calls:  # one statement (bot/storage/turn_sql.py)
            await self.db.run_driver(sql.PG_END, self._end_params(end))
        else:
            await self.db.run_conn(lambda c: self._end(c, end))

    def _end_params(self, end: TurnEnd) -> dict[str, Any]:
        now = self.clock()
        roles = [message.role for message in end.messages]
        # each content as the JSON text the column's type would write (json.dumps)
        contents = [json.dumps(message.model_dump(mode="json")["content"]) for message in end.messages]
        params = {"turn_id": end.turn_id, "conversation_id": end.conversation_id, "now": now, "roles": roles, "contents": contents}
        return params | self._finished(end, now)

    def _end(self, conn: Connection, end: TurnEnd) -> None:
        now = self.clock()
        if end.messages:
            rows = [
                {
                    "conversation_id": end.conversation_id,
                    "role": message.role,
                    "content": message.model_dump(mode="json")["content"],
                    "created_at": now,
                }
                for message in end.messages
            ]
            conn.execute(sql.APPEND_MESSAGE, rows)  # each after the last: no read of the last seq first
            conn.execute(sql.TOUCH_CONVERSATION, {"w_id": end.conversation_id, "v_updated_at": now})
        if end.tool_calls:
            self._save_tool_calls(conn, end.turn_id, end.tool_calls)
        finished = self._finished(end, now)
        conn.execute(sql.FINISH_TURN, {"w_id": end.turn_id, **{f"v_{k}": v for k, v in finished.items()}})

    @staticmethod
    def _finished(end: TurnEnd, now: datetime) -> dict[str, Any]:
        """The FINISHED_COLUMNS of the turn's outcome."""
        usage = end.usage
        return {
            "status": end.status,
            "stop_reason": end.stop_reason,
            "steps": end.steps,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "error": end.error,
            "finished_at": now if end.final else None,
        }

    def _save_tool_calls(self, conn: Connection, turn_id: str, rows: list[dict[str, Any]]) -> None:
        # A call that waited for approval already has its `pending` row: one row per call, updated.
        ids = [r["tool_use_id"] for r in rows]
        existing = set(conn.execute(sql.EXISTING_CALLS, {"turn_id": turn_id, "ids": ids}).scalars())
        fresh = [r for r in rows if r["tool_use_id"] not in existing]
        if fresh:
            conn.execute(sql.INSERT_CALLS, fresh)
        for row in rows:
            if row["tool_use_id"] in existing:
                changed = {k: v for k, v in row.items() if k in _UPDATED_ON_DECISION}
                params = {"w_turn": turn_id, "w_call": row["tool_use_id"], **{f"v_{k}": v for k, v in changed.items()}}
                conn.execute(sql.update_call(frozenset(changed)), params)

    async def set_answer_ts(self, turn_id: str, ts: str) -> None:
        """Record the Slack message carrying the turn's answer and trace (the newest one, after a resume)."""

        def _set(session: Session) -> None:
            session.exec(update(TurnRow).where(col(TurnRow.id) == turn_id).values(answer_ts=ts[:32]))

        await self.db.run(_set)

    async def close_turn(self, turn_id: str, *, status: str, error: str) -> bool:
        """End a turn that cannot go on (e.g. a paused turn whose saved state is lost): its status and error, and
        its calls still `pending` become `cancelled`. False when the turn had already ended."""
        now = self.clock()

        def _close(session: Session) -> bool:
            ended = session.exec(
                update(TurnRow)
                .where(col(TurnRow.id) == turn_id, col(TurnRow.finished_at).is_(None))
                .values(status=status, error=error, finished_at=now)
            ).rowcount
            session.exec(
                update(ToolCallRow)
                .where(col(ToolCallRow.turn_id) == turn_id, col(ToolCallRow.outcome) == "pending")
                .values(outcome="cancelled", error=error)
            )
            return ended == 1

        return await self.db.run(_close)

    async def trace_link(self, conversation_id: str, tool_use_id: str) -> TraceLink | None:
        """Where the trace of a call is (e.g. of an audit row: its conversation id and tool_use id); None if unknown."""

        def _find(session: Session) -> TraceLink | None:
            row = session.exec(
                select(col(ToolCallRow.turn_id), col(TurnRow.answer_ts), ConversationRow)
                .join(TurnRow, col(TurnRow.id) == col(ToolCallRow.turn_id))
                .join(ConversationRow, col(ConversationRow.id) == col(ToolCallRow.conversation_id))
                .where(col(ToolCallRow.conversation_id) == conversation_id, col(ToolCallRow.tool_use_id) == tool_use_id)
                .order_by(col(ToolCallRow.id).desc())
            ).first()
            if row is None:
                return None
            turn_id, answer_ts, where = row
            return TraceLink(conversation_id, tool_use_id, turn_id, where.team_id, where.channel_id, where.thread_ts, answer_ts)

        return await self.db.run(_find)

    async def get_turn(self, turn_id: str) -> TurnRow | None:
        """One turn row."""
        return await self.db.run(lambda s: s.get(TurnRow, turn_id))

    async def list_turns(self, conversation_id: str) -> list[TurnRow]:
        """A conversation's turns, oldest first."""
        stmt = select(TurnRow).where(col(TurnRow.conversation_id) == conversation_id).order_by(col(TurnRow.started_at))
        return await self.db.run(lambda s: list(s.exec(stmt)))

    async def list_tool_calls(self, *, turn_id: str | None = None, conversation_id: str | None = None) -> list[ToolCallRow]:
        """Tool-call rows of a turn or a conversation, in the order they were recorded."""
        stmt = select(ToolCallRow)
        if turn_id is not None:
            stmt = stmt.where(col(ToolCallRow.turn_id) == turn_id)
        if conversation_id is not None:
            stmt = stmt.where(col(ToolCallRow.conversation_id) == conversation_id)
        return await self.db.run(lambda s: list(s.exec(stmt.order_by(col(ToolCallRow.id)))))

    async def find_conversation(self, *, team_id: str, channel_id: str, thread_ts: str) -> ConversationRow | None:
        """The conversation of a thread, if any."""
        stmt = select(ConversationRow).where(
            col(ConversationRow.team_id) == team_id,
            col(ConversationRow.channel_id) == channel_id,
            col(ConversationRow.thread_ts) == thread_ts,
        )
        return await self.db.run(lambda s: s.exec(stmt).first())


_TOOL_CALL_FIELDS = frozenset(ToolCallRow.model_fields) - {"id"}


def tool_call_row(**fields: Any) -> dict[str, Any]:
    """The fields of one tool_calls row, checked against the table's columns."""
    unknown = fields.keys() - _TOOL_CALL_FIELDS
    if unknown:
        raise TypeError(f"not tool_calls columns: {sorted(unknown)}")
    return fields
