"""The statements every turn runs (bot/storage/turn_sql.py): served from the compiled-statement cache, and the rows
they write are the rows the ORM reads back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.engine.interfaces import CacheStats

from bot.storage.conversations import TurnEnd
from bot.storage.db import Database
from bot.storage.events import event_key, message_key
from bot.storage.feedback import AnswerRecord
from bot.storage.leases import as_utc
from bot.storage.migrations import migrate
from bot.storage.store import Store
from integrations.llm.base import Message, Usage
from tests.conftest import FixedClock

QUESTION = Message.model_validate({"role": "user", "content": [{"type": "text", "text": "status?"}]})
ANSWER = Message.model_validate({"role": "assistant", "content": [{"type": "text", "text": "All good."}]})


async def _answered_turn(
    store: Store,
    n: int,
    *,
    thread_ts: str | None = None,
    tool: bool = True,
    messages: list[Message] | None = None,
) -> str:
    """One turn as the bot runs it: started with its claim, ended with two messages (`messages`) and a tool call
    (unless not `tool`), answered."""
    ts = thread_ts or f"1700000{n}.000100"
    turn_id = f"turn{n}"
    keys = [event_key("T1", f"Ev{n}"), message_key("T1", "C1", f"1700000{n}.000200")]
    start = await store.begin_turn(team_id="T1", channel_id="C1", thread_ts=ts, user_id="U1", turn_id=turn_id, claim=keys)
    call = {"tool_use_id": f"toolu_{n}", "conversation_id": start.conversation_id, "turn_id": turn_id, "user_id": "U1",
            "tool": "get_ticket", "arguments": {"key": "OPS-1"}, "decision": "allow", "outcome": "ok", "duration_ms": 3,
            "created_at": store.clock()}  # fmt: skip
    end = TurnEnd(
        turn_id=turn_id, conversation_id=start.conversation_id, status="answered", steps=2,
        usage=Usage(input_tokens=10, output_tokens=5), messages=messages or [QUESTION, ANSWER], tool_calls=[call] if tool else [],
    )  # fmt: skip
    await store.end_turn(end)
    record = AnswerRecord(
        team_id="T1", channel_id="C1", message_ts=f"1700000{n}.000300", thread_ts=ts, turn_id=turn_id, user_id="U1",
        model="claude", status="answered", tools=[], input_tokens=10, output_tokens=5, latency_ms=12.5,
    )  # fmt: skip
    await store.record_answer(record, on_turn=True)
    return start.conversation_id


async def test_every_statement_of_a_steady_state_turn_comes_from_the_compiled_cache(
    database: Database, clock: FixedClock
) -> None:
    await migrate(database)
    store = Store(database, clock=clock)
    await _answered_turn(store, 1)  # the first turn of a process compiles them
    seen: list[tuple[str, Any]] = []

    @event.listens_for(database.engine, "after_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, params: Any, context: DefaultExecutionContext, many: bool) -> None:
        seen.append((statement.split()[0] + " " + statement.split()[2], context.cache_hit))

    await _answered_turn(store, 2)
    event.remove(database.engine, "after_cursor_execute", _seen)

    # SQLite: claim, conversation, turn; messages, call, outcome; answer. PostgreSQL: the start and the answer are
    # one statement each, the end with a tool call runs its statements in a transaction
    assert len(seen) >= (5 if database.is_postgres else 10), seen
    # CACHE_MISS ("generated in") or NO_CACHE_KEY ("no key"): a statement compiled again on every call
    assert [(s, how.name) for s, how in seen if how is not CacheStats.CACHE_HIT] == []


async def test_the_rows_a_turn_writes_are_what_the_store_reads_back(database: Database, clock: FixedClock) -> None:
    await migrate(database)
    store = Store(database, clock=clock)
    conversation_id = await _answered_turn(store, 1, thread_ts="1.1")
    await _answered_turn(store, 2, thread_ts="1.1")  # a reply in the same thread continues its conversation

    assert [m.role for m in await store.load_messages(conversation_id)] == ["user", "assistant", "user", "assistant"]
    assert (await store.load_messages(conversation_id))[1] == ANSWER
    turn = await store.get_turn("turn2")
    assert turn is not None
    assert (turn.status, turn.steps, turn.input_tokens, turn.answer_ts) == ("answered", 2, 10, "17000002.000300")
    assert as_utc(turn.finished_at) == clock()  # SQLite hands timestamps back without their zone
    calls = await store.list_tool_calls(turn_id="turn2")
    assert [(c.tool, c.arguments, c.outcome) for c in calls] == [("get_ticket", {"key": "OPS-1"}, "ok")]
    answer = await store.answer_at(team_id="T1", channel_id="C1", message_ts="17000002.000300")
    assert answer is not None and answer.turn_id == "turn2"


async def test_a_turn_without_tool_calls_writes_the_same_rows(database: Database, clock: FixedClock) -> None:
    await migrate(database)
    store = Store(database, clock=clock)
    conversation_id = await _answered_turn(store, 1, thread_ts="1.1", tool=False)
    clock.advance(60)
    await _answered_turn(store, 2, thread_ts="1.1", tool=False)  # the same thread: its conversation goes on

    assert await store.load_messages(conversation_id) == [QUESTION, ANSWER, QUESTION, ANSWER]
    turn = await store.get_turn("turn2")
    assert turn is not None
    assert (turn.status, turn.steps, turn.input_tokens, turn.output_tokens) == ("answered", 2, 10, 5)
    assert turn.answer_ts == "17000002.000300"
    assert as_utc(turn.finished_at) == clock()
    conversation = await store.find_conversation(team_id="T1", channel_id="C1", thread_ts="1.1")
    assert conversation is not None and as_utc(conversation.updated_at) == clock()
    assert await store.list_tool_calls(turn_id="turn2") == []
    answer = await store.answer_at(team_id="T1", channel_id="C1", message_ts="17000002.000300")
    assert answer is not None and (answer.turn_id, answer.latency_ms) == ("turn2", 12.5)


async def test_a_thread_continued_reads_back_its_history_as_it_was_written(database: Database, clock: FixedClock) -> None:
    await migrate(database)
    store = Store(database, clock=clock)
    awkward = ["", "NUL \x00 inside", "emoji 🎉 and \u2028 line separator", "quotes \" ' and \\ backslash", '{"json": [1]}']
    written = [Message.model_validate({"role": "user", "content": [{"type": "text", "text": text}]}) for text in awkward]
    conversation_id = await _answered_turn(store, 1, thread_ts="1.1", tool=False, messages=written)

    start = await store.begin_turn(team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1", turn_id="turn2")
    assert (start.conversation_id, start.messages) == (conversation_id, written)


async def test_on_postgresql_each_write_of_a_turn_without_tool_calls_is_one_statement_in_autocommit(
    database: Database, clock: FixedClock
) -> None:
    if not database.is_postgres:
        pytest.skip("SQLite keeps its transactions: it has no data-modifying WITH, and no round trips to save")
    import psycopg

    await migrate(database)
    store = Store(database, clock=clock)
    await _answered_turn(store, 1, tool=False)
    seen: list[tuple[str, bool]] = []

    class Recording(psycopg.Cursor):  # type: ignore[type-arg]
        """psycopg's own cursor, noting each statement it sends and whether its connection is in autocommit."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            seen.append((str(query).split()[0], self.connection.autocommit))
            return super().execute(query, params, **kwargs)

    @event.listens_for(database.engine, "checkout")
    def _record(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        dbapi_conn.cursor_factory = Recording

    await _answered_turn(store, 2, tool=False)
    event.remove(database.engine, "checkout", _record)

    # the start, the end and the answer: no BEGIN or COMMIT round trip around any of them
    assert seen == [("WITH", True), ("WITH", True), ("WITH", True)]


async def test_a_turn_started_with_columns_a_turn_row_has_not_is_refused_before_anything_is_written(
    database: Database, clock: FixedClock
) -> None:
    await migrate(database)
    store = Store(database, clock=clock)
    with pytest.raises(TypeError, match="not lease columns: \\['colour'\\]"):
        await store.begin_turn(
            team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1", turn_id="t1", lease={"owner": "p", "colour": "red"},
            claim=[event_key("T1", "Ev1")],
        )  # fmt: skip
    assert await store.find_conversation(team_id="T1", channel_id="C1", thread_ts="1.1") is None
    assert await store.claim_delivery([event_key("T1", "Ev1")])  # the claim was not taken either
