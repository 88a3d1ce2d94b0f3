"""CPU of the database work of one answered question: the three transactions every turn runs.

`Store.begin_turn` (with the delivery claim), `Store.end_turn` (two messages, no tool call) and
`Store.record_answer(on_turn=True)`, as the Slack benchmark's turns run them, one thread (a new conversation) per
turn, on a SQLite file (and on PostgreSQL with BENCH_DATABASE_URL, an empty database, where each of the three is one
statement in autocommit: bot/storage/turn_sql.py, PG_BEGIN, PG_END, PG_ANSWER). Two peers in the same run, writing
the same rows:

- `ORM session`: the statements the store ran before bot/storage/turn_sql.py (a conversation looked up, then
  inserted; the last message seq read before the messages), each built per call and run through a SQLModel session;
- `sqlite3 floor` (SQLite only): the store's statements as hand-written SQL on the sqlite3 module, no SQLAlchemy:
  what the database itself costs;
- `via a Connection` (PostgreSQL only): the store as it is, its three statements sent through a SQLAlchemy
  `Connection` switched to autocommit instead of straight to psycopg (`Database.run_driver`).

CPU is the process's (time.process_time: every thread, the database thread included) per turn, measured per batch
of BATCH turns; figures are the median and p99 over the batches. Run: `python -m benchmarks turn_sql`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.storage.conversations import TurnEnd
from bot.storage.db import Database, make_engine
from bot.storage.feedback import AnswerRecord
from bot.storage.migrations import migrate_sync
from bot.storage.store import Store
from bot.storage.tables import AnswerRow, ConversationRow, MessageRow, ProcessedEventRow, TurnRow
from integrations.llm.base import Message, Usage

BATCH = 100
BATCHES = int(os.environ.get("BENCH_TURN_SQL_BATCHES", "20"))
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
QUESTION = Message.model_validate({"role": "user", "content": [{"type": "text", "text": "status?"}]})
ANSWER = Message.model_validate({"role": "assistant", "content": [{"type": "text", "text": "All good."}]})

Turn = Callable[[int], Awaitable[None]]


def _record(turn_id: str, ts: str) -> AnswerRecord:
    return AnswerRecord(
        team_id="T1", channel_id="C1", message_ts=ts, thread_ts=ts, turn_id=turn_id, user_id="U1", model="m",
        status="answered", tools=[], input_tokens=10, output_tokens=5, latency_ms=3.0,
    )  # fmt: skip


def store_turn(store: Store) -> Turn:
    """The store as the bot runs it."""

    async def turn(i: int) -> None:
        turn_id, ts = uuid.uuid4().hex, f"{1_700_000_000 + i}.000100"
        start = await store.begin_turn(
            team_id="T1", channel_id="C1", thread_ts=ts, user_id="U1", turn_id=turn_id,
            claim=[f"event:T1:Ev{turn_id}", f"msg:T1:C1:{ts}"],
        )  # fmt: skip
        end = TurnEnd(
            turn_id=turn_id, conversation_id=start.conversation_id, status="answered", steps=1,
            usage=Usage(input_tokens=10, output_tokens=5), messages=[QUESTION, ANSWER], tool_calls=[],
        )  # fmt: skip
        await store.end_turn(end)
        await store.record_answer(_record(turn_id, ts), on_turn=True)

    return turn


def session_turn(db: Database) -> Turn:
    """The same rows, each statement built per call and run through an ORM session (the peer)."""
    dialect = postgresql if db.is_postgres else sqlite

    async def turn(i: int) -> None:
        turn_id, ts, conversation_id = uuid.uuid4().hex, f"{1_800_000_000 + i}.000100", uuid.uuid4().hex

        def begin(s: Session) -> None:
            keys = [{"key": f"event:T1:Ev{turn_id}", "created_at": NOW}, {"key": f"msg:T1:C1:{ts}", "created_at": NOW}]
            claim = dialect.insert(ProcessedEventRow).values(keys).on_conflict_do_nothing()
            s.exec(claim.returning(col(ProcessedEventRow.key))).all()  # type: ignore[call-overload]
            where = (col(ConversationRow.channel_id) == "C1", col(ConversationRow.thread_ts) == ts)
            s.exec(select(col(ConversationRow.id)).where(col(ConversationRow.team_id) == "T1", *where)).first()
            row = dict(team_id="T1", channel_id="C1", thread_ts=ts, user_id="U1", created_at=NOW, updated_at=NOW)
            s.connection().execute(insert(ConversationRow.__table__).values(id=conversation_id, **row))  # type: ignore[attr-defined]
            turn_row = dict(conversation_id=conversation_id, user_id="U1", started_at=NOW, status="running", steps=0)
            s.connection().execute(insert(TurnRow.__table__).values(id=turn_id, **turn_row))  # type: ignore[attr-defined]

        def end(s: Session) -> None:
            s.exec(select(func.max(MessageRow.seq)).where(col(MessageRow.conversation_id) == conversation_id)).one()
            rows = [
                {"conversation_id": conversation_id, "seq": n + 1, "role": m.role, "content": m.model_dump(mode="json")["content"], "created_at": NOW}
                for n, m in enumerate((QUESTION, ANSWER))
            ]  # fmt: skip
            s.connection().execute(insert(MessageRow.__table__), rows)  # type: ignore[attr-defined]
            s.exec(update(ConversationRow).where(col(ConversationRow.id) == conversation_id).values(updated_at=NOW))
            done = dict(status="answered", steps=1, input_tokens=10, output_tokens=5, finished_at=NOW)
            s.exec(update(TurnRow).where(col(TurnRow.id) == turn_id).values(**done))

        def answer(s: Session) -> None:
            s.exec(update(TurnRow).where(col(TurnRow.id) == turn_id).values(answer_ts=ts))
            values = {"id": uuid.uuid4().hex, "created_at": NOW, **_record(turn_id, ts).__dict__}
            stmt = dialect.insert(AnswerRow).values(**values).on_conflict_do_nothing().returning(col(AnswerRow.id))
            s.exec(stmt).first()  # type: ignore[call-overload]

        for work in (begin, end, answer):
            await db.run(work)

    return turn


def sqlite3_turn(path: str) -> Turn:
    """The same statements, hand-written, on the sqlite3 module (one connection on one thread: the floor)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    content = [json.dumps(m.model_dump(mode="json")["content"]) for m in (QUESTION, ANSWER)]

    def run(statements: list[tuple[str, tuple[object, ...]]]) -> None:
        conn.execute("BEGIN")
        for sql, params in statements:
            conn.execute(sql, params).fetchall()
        conn.execute("COMMIT")

    async def turn(i: int) -> None:
        turn_id, ts, conversation_id = uuid.uuid4().hex, f"{1_900_000_000 + i}.000100", uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        begin = [
            ('INSERT INTO processed_events ("key", created_at) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING RETURNING "key"',
             (f"event:T1:Ev{turn_id}", stamp, f"msg:T1:C1:{ts}", stamp)),
            ("INSERT INTO conversations (id, team_id, channel_id, thread_ts, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, channel_id, thread_ts) DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
             (conversation_id, "T1", "C1", ts, "U1", stamp, stamp)),
            ("INSERT INTO turns (id, conversation_id, user_id, started_at, status, steps, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens) VALUES (?, ?, ?, ?, 'running', 0, 0, 0, 0, 0)",
             (turn_id, conversation_id, "U1", stamp)),
        ]  # fmt: skip
        end = [
            ("INSERT INTO conversation_messages (conversation_id, seq, role, content, created_at) SELECT ?, coalesce(max(seq), 0) + 1, 'user', ?, ? FROM conversation_messages WHERE conversation_id = ?",
             (conversation_id, content[0], stamp, conversation_id)),
            ("INSERT INTO conversation_messages (conversation_id, seq, role, content, created_at) SELECT ?, coalesce(max(seq), 0) + 1, 'assistant', ?, ? FROM conversation_messages WHERE conversation_id = ?",
             (conversation_id, content[1], stamp, conversation_id)),
            ("UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, conversation_id)),
            ("UPDATE turns SET status = 'answered', steps = 1, input_tokens = 10, output_tokens = 5, finished_at = ? WHERE id = ?",
             (stamp, turn_id)),
        ]  # fmt: skip
        answer = [
            ("UPDATE turns SET answer_ts = ? WHERE id = ?", (ts, turn_id)),
            ("INSERT INTO answers (id, team_id, channel_id, message_ts, thread_ts, turn_id, user_id, model, status, tools, input_tokens, output_tokens, latency_ms, created_at) VALUES (?, 'T1', 'C1', ?, ?, ?, 'U1', 'm', 'answered', '[]', 10, 5, 3.0, ?) ON CONFLICT DO NOTHING RETURNING id",
             (uuid.uuid4().hex, ts, ts, turn_id, stamp)),
        ]  # fmt: skip
        for statements in (begin, end, answer):
            await loop.run_in_executor(None, run, statements)

    return turn


class ConnectionDatabase(Database):
    """PostgreSQL peer: the same store and the same three statements, each sent through a SQLAlchemy `Connection`
    of the same pool switched to autocommit (`exec_driver_sql`) instead of straight to psycopg (`run_driver`)."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def run_driver(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        def one(_: object) -> list[tuple[Any, ...]]:
            with self._autocommit.connect() as conn:
                result = conn.exec_driver_sql(sql, dict(params))
                return [tuple(row) for row in result] if result.returns_rows else []

        return await self._in_thread(one, None)


async def measure(turn: Turn, offset: int) -> list[float]:
    """CPU ms per turn of each batch, after a warm-up batch."""
    for i in range(BATCH):
        await turn(offset + i)
    per_batch = []
    for batch in range(BATCHES):
        started = time.process_time()
        for i in range(BATCH):
            await turn(offset + (batch + 1) * BATCH + i)
        per_batch.append((time.process_time() - started) * 1000 / BATCH)
    return per_batch


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


async def run(url: str, sqlite_path: str | None) -> None:
    db = Database(make_engine(url))
    migrate_sync(db.engine)
    store = Store(db, clock=lambda: NOW)
    ways: list[tuple[str, Turn]] = [("store (turn_sql, Core)", store_turn(store)), ("ORM session (peer)", session_turn(db))]
    if sqlite_path:
        ways.append(("sqlite3 floor (peer)", sqlite3_turn(sqlite_path)))
    else:
        through = ConnectionDatabase(db.engine)
        ways.append(("via a Connection (peer)", store_turn(Store(through, clock=lambda: NOW))))
    results = {}
    for n, (name, turn) in enumerate(ways):
        results[name] = await measure(turn, n * 10_000_000)
    db.dispose()
    print(f"  {db.engine.dialect.name}: CPU per turn (3 transactions), {BATCHES} batches of {BATCH} turns")
    base = statistics.median(results["store (turn_sql, Core)"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"    {name:26s} median {median:6.3f} ms   p99 {_p99(values):6.3f} ms   this / store {median / base:5.2f}x")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "turns.db")
        asyncio.run(run(f"sqlite:///{path}", path))
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        asyncio.run(run(url, None))


if __name__ == "__main__":
    main()
