"""Cost of authorization: the pure `decide()`, and a full `PolicyAuthorizer.authorize` on the local store.

Prints figures (no pass/fail): decide() per call in microseconds for allow / confirm / deny, and the whole
authorize() (version check + ticket lookup + decide) on a SQLite file, p50 and p99. Run: python -m benchmarks.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.policy.decide import Facts, decide
from bot.policy.model import ChannelScopes, Policy
from bot.tools.base import Actor, Effect, ToolArgs, ToolContext, tool


class _KeyArgs(ToolArgs):
    key: str


async def _noop(ctx: Any, args: Any) -> None:
    """Benchmark tool."""


GET = tool(name="get_ticket", effect=Effect.READ, args=_KeyArgs, ticket_key_fields=("key",))(_noop)
COMMENT = tool(name="add_comment", effect=Effect.WRITE, args=_KeyArgs, ticket_key_fields=("key",))(_noop)


def _per_call_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def bench_decide(n: int = 200_000) -> dict[str, float]:
    """Microseconds per decide() call for three typical outcomes."""
    policy = Policy(channel_scopes=ChannelScopes(channels={f"C{i:08d}": ("OPS",) for i in range(200)}))
    public = frozenset({"OPS", "WEB"})
    args = _KeyArgs(key="OPS-12")
    dm = Actor(user_id="U1", channel_id="D1", channel_type="im")
    channel = Actor(user_id="U1", channel_id="C0GENERAL", channel_type="public")
    member = Facts(role="member", ticket_projects={"OPS-12": "OPS"}, public_projects=public)
    hidden = Facts(role="member", ticket_projects={"OPS-12": "SEC"}, public_projects=public)
    return {
        "allow (read, DM)": _per_call_us(lambda: decide(policy, dm, GET, args, member), n),
        "confirm (write)": _per_call_us(lambda: decide(policy, channel, COMMENT, args, member), n),
        "deny (private project)": _per_call_us(lambda: decide(policy, channel, GET, args, hidden), n),
    }


async def bench_authorize(n: int = 500) -> tuple[float, float]:
    """p50 / p99 milliseconds of a full authorize() on a SQLite file (threads, version check, lookup)."""
    from bot.clock import utcnow
    from bot.settings import Settings
    from bot.storage.db import Database, make_engine
    from bot.storage.migrations import migrate
    from bot.wiring import build_deps
    from integrations.tickets.base import NewTicket
    from integrations.tickets.local import LocalTickets, add_project

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(make_engine(url))
        await migrate(db)
        db.run_sync(lambda s: add_project(s, key="OPS", name="Operations", at=utcnow()))
        tickets = LocalTickets(db, clock=utcnow)
        await tickets.create_ticket(NewTicket(project="OPS", summary="x"), reporter=None, via="bench")
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        deps = await build_deps(settings, db=db, tickets=tickets, llm=None, tools=[GET], slack=None)
        ctx = ToolContext(actor=Actor(user_id="U1", channel_id="D1", channel_type="im"), deps=deps, conversation_id="c")
        args = _KeyArgs(key="OPS-1")
        timings = []
        for _ in range(n):
            start = time.perf_counter()
            await deps.authorizer.authorize(ctx, GET, args)
            timings.append((time.perf_counter() - start) * 1000)
        db.dispose()
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


def main() -> None:
    """Print the figures."""
    print("policy: decide() per call (pure, no I/O)")
    for name, us in bench_decide().items():
        print(f"  {name:<24} {us:6.2f} µs")
    p50, p99 = asyncio.run(bench_authorize())
    print("policy: authorize() on a SQLite file (version check + ticket lookup + decide)")
    print(f"  p50 {p50:.2f} ms   p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
