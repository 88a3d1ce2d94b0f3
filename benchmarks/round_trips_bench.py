"""Round trips of one turn, as counts (issue #12): one mention answered with one tool call, and one answered
without any (the `slack` benchmark's turn: a short answer, one model call).

Wall-clock figures on a shared machine move with everyone else's load; counts do not. This drives the real app
(Bolt over signed HTTP, the Agent, the local ticket store, AnthropicLLM and AsyncWebClient over HTTP to the fakes,
the same harness as tests/slack_harness.py) through one mention whose answer needs one tool call
(`get_ticket`), then one answered at once ("All good.", no tool), and counts, from the moment the event is sent
until the conversation is finished:

- Slack Web API calls, by method (what the fake Slack received);
- database transactions (the engine's `commit` events), each named by the function `Database.run` ran, and SQL
  statements by verb (`before_cursor_execute`, and on PostgreSQL the one-statement writes `Database.run_driver`
  sends to psycopg in autocommit: no COMMIT, named by the store method that sent them);
- thread hops: session work handed to the database thread (`Database.run`) and anything else sent to the event
  loop's default executor (`asyncio.to_thread`, `run_in_executor(None, ...)`);
- model calls (what the fake Messages API received).

A warm-up mention runs first in another thread (caches of the configuration version, the asker's profile and the
channel are filled), so the figures are a steady-state turn; the warm-up's own figures are printed too.

With BENCH_CPU_TURNS=N (e.g. 500) it then runs N more no-tool turns one after another and prints the CPU time of
the event-loop thread per turn (`time.thread_time`, median of 5 batches): Bolt, the Agent, the model client and
every Slack call run on that thread, while the fakes run in threads of their own and SQLite in the database
thread, so neither is counted. It also prints what one outbound Slack call costs that thread (aiohttp, slack_sdk
and the sanitizing client), for `assistant.threads.setStatus` and `chat.postMessage`.

With BENCH_COLD_BURST=N it first sends N mentions of the same person in the same channel at once to the cold process
and prints the Slack calls they made (lookups of a person or channel under way are shared, not repeated per turn).

Run: `python -m benchmarks round_trips` (BENCH_DATABASE_URL=postgresql+psycopg://... for PostgreSQL, a throwaway
schema is not made: use an empty database).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event

from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate
from integrations.tickets.seed import seed_demo
from tests.fakes.anthropic_server import AnthropicServer, Reply, text_reply, tool_use, tool_use_reply
from tests.fakes.slack_payloads import mention
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import ALICE, MENTION, OPS_CHANNEL, SlackBot, start_bot

T = TypeVar("T")
A = TypeVar("A")
_CURRENT: contextvars.ContextVar[str] = contextvars.ContextVar("bench_transaction", default="(outside Database.run)")


@dataclass
class Tally:
    """What one turn cost, as counts."""

    transactions: list[str] = field(default_factory=list)
    statements: Counter[str] = field(default_factory=Counter)
    by_transaction: dict[str, Counter[str]] = field(default_factory=dict)
    db_hops: int = 0
    executor_hops: int = 0
    commits: int = 0
    order: list[str] = field(default_factory=list)
    """Slack calls and transactions in the order they happened (a Slack call is placed before the first
    transaction that started after the fake received it)."""
    slack_seen: Callable[[], list[str]] = list
    """The Slack methods the fake received so far."""
    _slack_mark: int = 0

    def catch_up(self) -> None:
        """Append the Slack calls received since the last look to `order`."""
        methods = self.slack_seen()
        self.order += [f"slack:{m}" for m in methods[self._slack_mark :]]
        self._slack_mark = len(methods)

    def reset(self) -> None:
        self.order.clear()
        self._slack_mark = len(self.slack_seen())
        self.transactions.clear()
        self.statements.clear()
        self.by_transaction.clear()
        self.db_hops = self.executor_hops = self.commits = 0


class CountingDatabase(Database):
    """The real Database; each `run` / `run_conn` (one transaction on the database thread) is counted under the function it ran."""

    def __init__(self, engine: Any, tally: Tally) -> None:
        super().__init__(engine)
        self.tally = tally

    async def _in_thread(self, runner: Callable[[A], T], fn: A) -> T:
        # every transaction (`run` with a session, `run_conn` with a connection, `run_driver` with a statement)
        self.tally.db_hops += 1
        if isinstance(fn, tuple):  # run_driver: (sql, params), named by the store function that sent it
            name = _caller()
            _count(self.tally, name, fn[0])
        else:
            name = getattr(fn, "__qualname__", repr(fn)).replace(".<locals>", "")
        self.tally.transactions.append(name)
        self.tally.catch_up()
        self.tally.order.append(f"db:{name}")
        token = _CURRENT.set(name)  # Database.run copies the context into its thread
        try:
            return await super()._in_thread(runner, fn)
        finally:
            _CURRENT.reset(token)


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting what is sent to it (`asyncio.to_thread` and friends)."""

    def __init__(self, tally: Tally) -> None:
        super().__init__(max_workers=8, thread_name_prefix="bench-default")
        self.tally = tally

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.tally.executor_hops += 1
        return super().submit(fn, *args, **kwargs)


def _caller() -> str:
    """The store method that called Database.run_driver (PostgreSQL's one-statement writes)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name in ("_in_thread", "run_driver"):
        frame = frame.f_back  # type: ignore[assignment]
    return frame.f_code.co_qualname if frame is not None else "?"


def _count(tally: Tally, transaction: str, statement: str) -> None:
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    tally.statements[verb] += 1
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
    tally.by_transaction.setdefault(transaction, Counter())[f"{verb} {table.group(1) if table else ''}".strip()] += 1


def _listen(db: Database, tally: Tally) -> None:
    @event.listens_for(db.engine, "before_cursor_execute")
    def _statement(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        _count(tally, _CURRENT.get(), statement)

    @event.listens_for(db.engine, "commit")
    def _commit(_conn):  # type: ignore[no-untyped-def]
        tally.commits += 1


def _slack() -> FakeSlack:
    server = FakeSlack()
    server.add_channel(OPS_CHANNEL, name="ops")
    server.add_user(ALICE, name="Alice Example", email="alice@example.com")
    return server


async def _database(tally: Tally, workdir: Path) -> CountingDatabase:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    db = CountingDatabase(make_engine(url), tally)
    await migrate(db)
    await seed_demo(db, now=datetime.now(UTC))
    _listen(db, tally)
    return db


def _report(title: str, tally: Tally, slack_methods: list[str], model_calls: int) -> None:
    print(f"{title}:")
    print(f"  Slack Web API calls: {len(slack_methods)}  ({', '.join(f'{m} x{n}' for m, n in Counter(slack_methods).items())})")
    print(f"  model calls: {model_calls}")
    print(f"  database transactions: {tally.commits} commits, {tally.db_hops} Database.run")
    for name, n in Counter(tally.transactions).items():
        statements = tally.by_transaction.get(name, Counter())
        print(f"    {n} x {name}: {', '.join(f'{k} x{v}' for k, v in statements.items())}")
    total = sum(tally.statements.values())
    print(f"  SQL statements: {total}  ({', '.join(f'{v} {n}' for v, n in sorted(tally.statements.items()))})")
    other = tally.executor_hops  # the database runs on its own threads, never the default executor
    print(f"  thread hops: {tally.db_hops + other} ({tally.db_hops} database, {other} other work sent to a thread)")
    tally.catch_up()
    print("  order (Slack calls and transactions as they happened; the first Slack call is the first visible feedback):")
    for n, step in enumerate(tally.order, 1):
        print(f"    {n:2}. {step}")


TURNS = (
    ("warm-up turn (cold caches)", True),
    ("one turn, one tool call (steady state)", True),
    ("one turn, no tool call: a short answer (steady state, the `slack` benchmark's turn)", False),
)
"""(title, whether the model calls get_ticket first) of each mention, in order."""


async def _cold_burst(bot: SlackBot, slack: FakeSlack, model: AnthropicServer, size: int) -> None:
    """`size` no-tool mentions at once on cold caches: the Slack calls they made, by method."""
    model.queue(*(text_reply("All good.") for _ in range(size)))
    asked = [slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} status?") for _ in range(size)]
    before = len(slack.calls())
    sent = [bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} status?", ts=ts)) for ts in asked]
    assert set(await asyncio.gather(*sent)) == {200}
    await bot.settle()
    methods = Counter(c.method for c in slack.calls()[before:])
    print(f"{size} mentions at once, cold caches: {sum(methods.values())} Slack calls")
    print(f"  {', '.join(f'{m} x{n}' for m, n in methods.most_common())}")


async def _cpu(bot: SlackBot, slack: FakeSlack, model: AnthropicServer, turns: int) -> None:
    """CPU of the event-loop thread per no-tool turn, and per outbound Slack call (module docstring)."""
    model.respond_with(lambda _body: Reply(content=["All good."]))
    batches: list[float] = []
    for _ in range(5):
        size = max(1, turns // 5)
        asked = [slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} status?") for _ in range(size)]
        started = time.thread_time()
        for ts in asked:
            assert await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} status?", ts=ts)) == 200
            await bot.settle()
        batches.append((time.thread_time() - started) / size * 1000)
    print(f"CPU of the event-loop thread per no-tool turn ({5 * max(1, turns // 5)} turns, 5 batches):")
    print(f"  median {statistics.median(batches):.2f} ms (batches: {', '.join(f'{b:.2f}' for b in batches)})")
    client = bot.surface.client
    thread = slack.post_user_message(OPS_CHANNEL, user=ALICE, text="calls")
    calls = {
        "assistant.threads.setStatus": lambda: client.assistant_threads_setStatus(
            channel_id=OPS_CHANNEL, thread_ts=thread, status="is working on it..."
        ),
        "chat.postMessage": lambda: client.chat_postMessage(channel=OPS_CHANNEL, thread_ts=thread, text="All good."),
    }
    for method, call in calls.items():
        samples = []
        for _ in range(5):
            started = time.thread_time()
            for _ in range(100):
                await call()
            samples.append((time.thread_time() - started) / 100 * 1000)
        print(f"  one {method} call: median {statistics.median(samples):.3f} ms of the loop thread (5 x 100 calls)")


async def _run() -> None:
    tally = Tally()
    asyncio.get_running_loop().set_default_executor(CountingExecutor(tally))
    workdir = Path(tempfile.mkdtemp(prefix="chatops-trips-"))
    try:
        with _slack() as slack, AnthropicServer() as model:
            db = await _database(tally, workdir)
            tally.slack_seen = slack.methods
            bots = start_bot(slack, model, db, lambda: datetime.now(UTC))  # type: ignore[arg-type]
            bot = await bots.__anext__()
            try:
                if burst := int(os.environ.get("BENCH_COLD_BURST") or 0):
                    await _cold_burst(bot, slack, model, burst)
                for title, tool in TURNS:
                    if tool:
                        model.queue(
                            tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]),
                            text_reply("OPS-1 is open and assigned to Maya."),
                        )
                    else:
                        model.queue(text_reply("All good."))
                    slack_before, model_before = len(slack.calls()), len(model.bodies())
                    tally.reset()
                    text = f"{MENTION} what is the state of OPS-1?" if tool else f"{MENTION} status?"
                    asked = slack.post_user_message(OPS_CHANNEL, user=ALICE, text=text)
                    status = await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=text, ts=asked))
                    assert status == 200, status
                    await bot.settle()
                    if len(model.bodies()) == model_before:
                        raise RuntimeError("no turn ran (a database used before holds this message's claim): use an empty one")
                    methods = [c.method for c in slack.calls()[slack_before:]]
                    _report(title, tally, methods, len(model.bodies()) - model_before)
                if turns := int(os.environ.get("BENCH_CPU_TURNS") or 0):
                    await _cpu(bot, slack, model, turns)
            finally:
                await bots.aclose()
                db.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
