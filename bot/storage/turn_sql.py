"""The statements every turn runs, built once: the delivery claim, the turn's start, its end and its answer.

Every answered question runs these (three transactions, about ten statements). Built per call through the ORM
session they cost about 4 ms of CPU per turn on SQLite, nine tenths of it SQLAlchemy building statements
(`values()`, `where()`, coercions), generating cache keys and running the ORM's bulk paths, not the database
(`python -m benchmarks turn_sql` measures both). So the hot path runs Core statements built once at import with
bound parameters, on a plain `Connection` (`Database.run_conn`): the statement cache finds their compiled form by
a cache key that is cheap to compute for a prebuilt statement, and no ORM session, identity map or flush is involved.
Column types still apply (JSON content, UTC timestamps), so the rows are exactly what the ORM would write.

The INSERT ... ON CONFLICT forms differ by dialect: `upsert_conversation` and `insert_answer` are built once per
dialect. On PostgreSQL each of the three transactions is one statement sent to the driver (PG_BEGIN, PG_END,
PG_ANSWER, at the end).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, text, update

from bot.storage.base import insert_for
from bot.storage.tables import AnswerRow, ConversationRow, MessageRow, ProcessedEventRow, ToolCallRow, TurnRow


def _table(row: Any) -> Table:
    return row.__table__  # type: ignore[no-any-return]


CONVERSATIONS = _table(ConversationRow)
MESSAGES = _table(MessageRow)
TURNS = _table(TurnRow)
TOOL_CALLS = _table(ToolCallRow)
ANSWERS = _table(AnswerRow)
CLAIMS = _table(ProcessedEventRow)

# ---------------------------------------------------------------- the turn's start

READ_MESSAGES = (
    select(MESSAGES.c.seq, MESSAGES.c.role, MESSAGES.c.content)
    .where(MESSAGES.c.conversation_id == bindparam("conversation_id"))
    .order_by(MESSAGES.c.seq)
)
INSERT_TURN = insert(TURNS)
"""Executed with the row's values as parameters (the lease columns vary: one compiled form per set of columns)."""

# ---------------------------------------------------------------- the turn's end

APPEND_MESSAGE = insert(MESSAGES).from_select(
    ["conversation_id", "seq", "role", "content", "created_at"],
    select(
        bindparam("conversation_id", type_=MESSAGES.c.conversation_id.type),
        func.coalesce(func.max(MESSAGES.c.seq), 0) + 1,
        bindparam("role", type_=MESSAGES.c.role.type),
        bindparam("content", type_=MESSAGES.c.content.type),
        bindparam("created_at", type_=MESSAGES.c.created_at.type),
    ).where(MESSAGES.c.conversation_id == bindparam("conversation_id")),
)
"""One message after the conversation's last (its `seq` computed in the statement: no read of the last seq first).
Executed with a list of messages, each sees the rows inserted before it."""
TOUCH_CONVERSATION = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("w_id"))
    .values(updated_at=bindparam("v_updated_at"))
)
EXISTING_CALLS = select(TOOL_CALLS.c.tool_use_id).where(
    TOOL_CALLS.c.turn_id == bindparam("turn_id"),
    TOOL_CALLS.c.tool_use_id.in_(bindparam("ids", expanding=True)),
)
INSERT_CALLS = insert(TOOL_CALLS)
FINISHED_COLUMNS = (
    "status",
    "stop_reason",
    "steps",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "error",
    "finished_at",
)
FINISH_TURN = (
    update(TURNS)
    .where(TURNS.c.id == bindparam("w_id"))
    .values({name: bindparam(f"v_{name}") for name in FINISHED_COLUMNS})
)
"""Parameters `w_id` and `v_<column>` (a bound name may not be a column's name in an UPDATE)."""


def update_call(columns: frozenset[str]) -> Any:
    """UPDATE of one call's `columns` (a pending call decided later); parameters `w_turn`, `w_call` and each
    column as `v_<column>`."""
    return _update_call(tuple(sorted(columns)))


@cache
def _update_call(columns: tuple[str, ...]) -> Any:
    return (
        update(TOOL_CALLS)
        .where(TOOL_CALLS.c.turn_id == bindparam("w_turn"), TOOL_CALLS.c.tool_use_id == bindparam("w_call"))
        .values({name: bindparam(f"v_{name}") for name in columns})
    )


# ---------------------------------------------------------------- the answer

SET_ANSWER_TS = (
    update(TURNS).where(TURNS.c.id == bindparam("w_id")).values(answer_ts=bindparam("v_answer_ts"))
)


@cache
def claim(keys: int) -> Any:
    """Insert `keys` claim keys (parameters `k0`.. and `now`), skipping any claimed before; returns those inserted.

    Written as text: SQLAlchemy does not cache a multi-row VALUES insert ("[no key]": compiled on every call, about
    1 ms), and this form is the same SQL on SQLite (3.35+) and PostgreSQL."""
    values = ", ".join(f"(:k{i}, :now)" for i in range(keys))
    statement = f'INSERT INTO {CLAIMS.name} ("key", created_at) VALUES {values} ON CONFLICT DO NOTHING RETURNING "key"'
    return text(statement).bindparams(bindparam("now", type_=CLAIMS.c.created_at.type)).columns(CLAIMS.c.key)


@cache
def upsert_conversation(dialect: str) -> Any:
    """Insert the thread's conversation, or touch the existing one (`updated_at`); returns the id it has. Its id is
    the one given exactly when it is new (then there are no messages to read). `dialect`: the connection's."""
    stmt = insert_for(dialect, CONVERSATIONS)
    thread = ["team_id", "channel_id", "thread_ts"]
    return stmt.on_conflict_do_update(index_elements=thread, set_={"updated_at": stmt.excluded.updated_at}).returning(
        CONVERSATIONS.c.id
    )


@cache
def insert_answer(dialect: str) -> Any:
    """Insert an answer row unless its message was recorded before; returns its id when inserted."""
    return insert_for(dialect, ANSWERS).on_conflict_do_nothing().returning(ANSWERS.c.id)


# ---------------------------------------------------------------- PostgreSQL: each transaction one statement
#
# On PostgreSQL every statement is a round trip, and so are the BEGIN and COMMIT around them: the three
# transactions above are 14 round trips per turn, each about 0.1 ms of CPU in psycopg and the kernel. Written as
# one statement each (data-modifying WITH clauses, PostgreSQL's own way of doing several writes at once) and run
# in autocommit on the driver (`Database.run_driver`: psycopg's `%(name)s` parameters, JSON values wrapped by
# `json_value`), a turn's database work is 3 round trips, and each write is still atomic: one statement is one
# transaction. SQLite has no data-modifying WITH, and no round trips to save: it keeps the transactions above.
# Parameters in a SELECT list are cast: PostgreSQL cannot tell the type of a NULL there.


def json_value(value: Any) -> Any:
    """A value for a JSON column of the statements below, as the column's type would write it (json.dumps)."""
    # only PostgreSQL runs these statements: a SQLite process never imports its driver
    from psycopg.types.json import Json

    return None if value is None else Json(value)


PG_BEGIN = f"""
WITH claimed AS (
    INSERT INTO {CLAIMS.name} ("key", created_at)
    SELECT k.key, CAST(%(now)s AS timestamptz) FROM unnest(CAST(%(keys)s AS varchar[])) WITH ORDINALITY AS k(key, n)
    WHERE NOT EXISTS (SELECT 1 FROM {CLAIMS.name} WHERE "key" = ANY(CAST(%(keys)s AS varchar[])))
    ORDER BY k.n
    ON CONFLICT DO NOTHING
    RETURNING 1
), claim AS (
    SELECT count(*) = %(key_count)s AS won FROM claimed
), conversation AS (
    INSERT INTO {CONVERSATIONS.name} (id, team_id, channel_id, thread_ts, user_id, created_at, updated_at)
    SELECT CAST(%(fresh)s AS varchar), CAST(%(team_id)s AS varchar), CAST(%(channel_id)s AS varchar),
        CAST(%(thread_ts)s AS varchar), CAST(%(user_id)s AS varchar), CAST(%(now)s AS timestamptz), CAST(%(now)s AS timestamptz)
    FROM claim WHERE claim.won
    ON CONFLICT (team_id, channel_id, thread_ts) DO UPDATE SET updated_at = excluded.updated_at
    RETURNING id
), turn AS (
    INSERT INTO {TURNS.name} (id, conversation_id, user_id, started_at, status, steps, input_tokens, output_tokens,
        cache_read_tokens, cache_write_tokens, owner, lease_until, request)
    SELECT CAST(%(turn_id)s AS varchar), conversation.id, CAST(%(user_id)s AS varchar), CAST(%(now)s AS timestamptz),
        'running', 0, 0, 0, 0, 0, CAST(%(owner)s AS varchar), CAST(%(lease_until)s AS timestamptz), CAST(%(request)s AS json)
    FROM conversation
)
SELECT claim.won, conversation.id, m.seq, m.role, m.content
FROM claim
LEFT JOIN conversation ON true
LEFT JOIN {MESSAGES.name} AS m ON m.conversation_id = conversation.id AND conversation.id <> CAST(%(fresh)s AS varchar)
ORDER BY m.seq
"""
"""Claim the delivery's keys (`keys`, `key_count` of them; a key claimed before is skipped), and only when every
key was claimed: create the thread's conversation (id `fresh`) or touch it, and insert the running turn. One row
per message the conversation already had (oldest first; one row with no message when it had none or is new):
(won, conversation id, seq, role, content); `won` false and nothing written when a key was claimed before.
Only two claims of one message made at the same moment can leave the loser's own event id claimed (each statement
inserts before it sees the other's keys, and there is no transaction to roll back): a later delivery of that event
is a duplicate of the message the winner answers all the same."""

PG_END = f"""
WITH appended AS (
    INSERT INTO {MESSAGES.name} (conversation_id, seq, role, content, created_at)
    SELECT CAST(%(conversation_id)s AS varchar), last.seq + m.n, m.role, m.content, CAST(%(now)s AS timestamptz)
    FROM (SELECT coalesce(max(seq), 0) AS seq FROM {MESSAGES.name} WHERE conversation_id = %(conversation_id)s) AS last,
        unnest(CAST(%(roles)s AS varchar[]), CAST(%(contents)s AS json[])) WITH ORDINALITY AS m(role, content, n)
    RETURNING 1
), touched AS (
    UPDATE {CONVERSATIONS.name} SET updated_at = %(now)s
    WHERE id = %(conversation_id)s AND EXISTS (SELECT 1 FROM appended)
)
UPDATE {TURNS.name} SET status = %(status)s, stop_reason = %(stop_reason)s, steps = %(steps)s, input_tokens = %(input_tokens)s,
    output_tokens = %(output_tokens)s, cache_read_tokens = %(cache_read_tokens)s, cache_write_tokens = %(cache_write_tokens)s,
    error = %(error)s, finished_at = %(finished_at)s
WHERE id = %(turn_id)s
"""
"""A turn's end without tool calls: its messages (`roles`, and `contents` as JSON texts) after the conversation's
last, the conversation touched when there were any, and the turn's outcome (the FINISHED_COLUMNS). The contents
are never taken apart in SQL: PostgreSQL's JSON operators refuse a text holding \\u0000, which JSON allows."""

PG_ANSWER = f"""
WITH turn AS (
    UPDATE {TURNS.name} SET answer_ts = %(answer_ts)s WHERE id = %(turn_id)s AND %(on_turn)s
)
INSERT INTO {ANSWERS.name} (id, team_id, channel_id, message_ts, thread_ts, turn_id, user_id, model, status, tools,
    input_tokens, output_tokens, latency_ms, created_at)
VALUES (%(id)s, %(team_id)s, %(channel_id)s, %(message_ts)s, %(thread_ts)s, %(turn_id)s, %(user_id)s, %(model)s, %(status)s, %(tools)s,
    %(input_tokens)s, %(output_tokens)s, %(latency_ms)s, %(created_at)s)
ON CONFLICT DO NOTHING
RETURNING id
"""
"""An answer row unless its message was recorded before (returns its id when inserted), and with `on_turn` the
message recorded on its turn (`answer_ts`)."""
