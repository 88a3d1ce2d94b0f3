"""Agent loop benchmark: scripted conversations against the fake Messages API with fixed model and tool latencies.

Prints (targets in brackets):
- orchestration overhead per step, excluding model time (the whole `llm.complete` call, HTTP included) and tool
  time [p50 < 5 ms]; the HTTP + SDK cost of a model call beyond the fake's latency is printed on its own line;
- wall time of k=5 independent reads of latency L in one response [< 1.2 L];
- 100 concurrent conversations in one process vs one alone [total within 1.5x].

Run: `python -m benchmarks` (all benchmarks) or `python -m benchmarks.loop_bench`. Uses a SQLite file in a temp
directory; set BENCH_DATABASE_URL to run on PostgreSQL (the schema is migrated in place).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.agent.loop import ThreadRef
from bot.authz import AllowAll
from bot.deps import Deps
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate
from bot.tools.base import Actor, Effect, Tool, ToolArgs, ToolContext, tool
from bot.wiring import build_deps
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.llm.base import LLM, Message, ModelResponse, TextCallback, ToolChoice, ToolSpec
from integrations.tickets.local import LocalTickets
from tests.fakes.anthropic_server import AnthropicServer, Item, text_reply, tool_use, tool_use_reply

MODEL_LATENCY = 0.020
TOOL_LATENCY = 0.005
READ_LATENCY = 0.100
CONCURRENT_MODEL_LATENCIES = (0.050, 1.0)
"""50 ms shows the bot's own CPU cost; ~1 s per step is closer to a real model answering a tool-use turn."""
ACTOR = Actor(user_id="UBENCH", team_id="TB", channel_id="CB", channel_type="public", name="Bench")


class LookupArgs(ToolArgs):
    key: str
    """A ticket key."""


class TimedLLM:
    """Wraps the real adapter and adds up the time spent inside `complete` (model latency + HTTP + SDK)."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls: list[float] = []

    async def complete(
        self,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        tool_choice: ToolChoice | None = None,
        max_tokens: int,
        on_text: TextCallback | None = None,
        user_hash: str | None = None,
        model: str | None = None,
    ) -> ModelResponse:
        """Time the inner call."""
        started = time.perf_counter()
        try:
            return await self.inner.complete(
                system=system, messages=messages, tools=tools, tool_choice=tool_choice, max_tokens=max_tokens, on_text=on_text, user_hash=user_hash, model=model
            )
        finally:
            took = time.perf_counter() - started
            self.seconds += took
            self.calls.append(took)

    async def aclose(self) -> None:
        """Close the inner client."""
        await self.inner.aclose()


def _tools(latency: float) -> list[Tool]:
    @tool(name="lookup", effect=Effect.READ, args=LookupArgs)
    async def lookup(ctx: ToolContext, args: LookupArgs) -> dict[str, Any]:
        """Look a ticket up (sleeps for the configured tool latency)."""
        await asyncio.sleep(latency)
        return {"key": args.key, "summary": "A ticket", "status": "Open"}

    return [lookup]


def _respond(body: dict[str, Any], *, steps: int, calls_per_step: int, delay: float) -> Item:
    """Each turn: `steps - 1` responses asking for tools, then an answer."""
    done = sum(1 for m in body["messages"] if m["role"] == "assistant")
    if done < steps - 1:
        calls = [tool_use("lookup", {"key": f"OPS-{done}-{i}"}) for i in range(calls_per_step)]
        return tool_use_reply(calls, delay=delay)
    return text_reply("All done.", delay=delay)


def _serve(script: Callable[[dict[str, Any]], Item], urls: Any, stop: Any) -> None:
    with AnthropicServer() as server:
        server.respond_with(script)
        urls.put(server.url)
        stop.wait()


@contextmanager
def fake_api(steps: int, calls_per_step: int = 1, delay: float = MODEL_LATENCY) -> Iterator[str]:
    """The fake Messages API in a child process (its CPU is the provider's, not the bot's); yields its URL."""
    ctx = multiprocessing.get_context("spawn")
    urls, stop = ctx.Queue(), ctx.Event()
    script = functools.partial(_respond, steps=steps, calls_per_step=calls_per_step, delay=delay)
    child = ctx.Process(target=_serve, args=(script, urls, stop), daemon=True)
    child.start()
    try:
        yield urls.get(timeout=30)
    finally:
        stop.set()
        child.join(10)


async def _deps(url: str, db: Database, tool_latency: float, **overrides: Any) -> tuple[Deps, TimedLLM]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        anthropic_api_key="sk-ant-bench",  # type: ignore[arg-type]
        anthropic_base_url=url,
        chatops_model="claude-sonnet-4-6",
        chatops_log_level="WARNING",
        **overrides,
    )
    llm = TimedLLM(AnthropicLLM.from_config(llm_config(settings)))
    deps = await build_deps(
        settings,
        db=db,
        tickets=LocalTickets(db, clock=_utcnow),
        llm=llm,
        tools=_tools(tool_latency),
        authorizer=AllowAll(),
        clock=_utcnow,
        slack=None,
    )
    return deps, llm


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _thread(n: int) -> ThreadRef:
    return ThreadRef(team_id="TB", channel_id="CB", thread_ts=f"{time.time():.6f}-{n}")


def _tool_seconds(result: Any) -> float:
    """Wall time the tools took in a turn: concurrent reads count once (the longest of each response)."""
    return sum(t.duration_ms for t in result.trace) / 1000


async def bench_overhead(db: Database, turns: int = 40, steps: int = 4) -> tuple[list[float], list[float]]:
    """Per-step orchestration overhead (ms) and HTTP+SDK cost per model call (ms)."""
    with fake_api(steps) as url:
        deps, llm = await _deps(url, db, TOOL_LATENCY)
        agent = deps.agent
        await agent.run_turn(actor=ACTOR, thread=_thread(-1), text="warm up")
        per_step: list[float] = []
        llm.calls.clear()
        for n in range(turns):
            before = llm.seconds
            started = time.perf_counter()
            result = await agent.run_turn(actor=ACTOR, thread=_thread(n), text="Look up three tickets, one by one.")
            wall = time.perf_counter() - started
            assert result.status == "answered", result.text
            overhead = wall - (llm.seconds - before) - _tool_seconds(result)
            per_step.append(overhead / result.steps * 1000)
        http = [(c - MODEL_LATENCY) * 1000 for c in llm.calls]
        await deps.llm.aclose()  # type: ignore[union-attr]
    return per_step, http


async def bench_parallel_reads(db: Database, k: int = 5, latency: float = READ_LATENCY) -> float:
    """Seconds from the first read starting to the last finishing, for k reads of `latency` in one response."""
    with fake_api(2, calls_per_step=k, delay=0.0) as url:
        deps, _ = await _deps(url, db, latency)
        agent = deps.agent
        marks: list[float] = []

        async def on_progress(event: Any) -> None:
            if event.kind in ("tool_started", "tool_finished"):
                marks.append(time.perf_counter())

        result = await agent.run_turn(actor=ACTOR, thread=_thread(0), text="Look up five tickets.", on_progress=on_progress)
        assert result.status == "answered" and len(result.trace) == k, result.text
        await deps.llm.aclose()  # type: ignore[union-attr]
    return max(marks) - min(marks)


async def bench_concurrency(db: Database, conversations: int = 100, model_latency: float = 0.050) -> tuple[float, float, float]:
    """Wall time of one conversation alone, of `conversations` at once (3 steps each), and the CPU seconds used."""
    with fake_api(3, delay=model_latency) as url:
        deps, _ = await _deps(url, db, 0.020)
        agent = deps.agent
        await agent.run_turn(actor=ACTOR, thread=_thread(-1), text="warm up")
        started = time.perf_counter()
        await agent.run_turn(actor=ACTOR, thread=_thread(-2), text="one alone")
        alone = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(
            *(agent.run_turn(actor=ACTOR, thread=_thread(n), text=f"conversation {n}") for n in range(conversations))
        )
        together, cpu = time.perf_counter() - started, time.process_time() - cpu
        failed = [r.text for r in results if r.status != "answered"]
        assert not failed, failed[:3]
        await deps.llm.aclose()  # type: ignore[union-attr]
    return alone, together, cpu


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _main() -> None:
    logging.getLogger("chatops").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, _database(os.environ.get("BENCH_DATABASE_URL"), Path(tmp)) as db:
        await migrate(db)
        where = "PostgreSQL" if db.is_postgres else "SQLite file"
        print(f"loop benchmark ({where}; fake model latency {MODEL_LATENCY * 1000:.0f} ms, tool latency {TOOL_LATENCY * 1000:.0f} ms)")
        per_step, http = await bench_overhead(db)
        print(
            f"  orchestration overhead per step (excl. model and tool time): p50 {statistics.median(per_step):.2f} ms, "
            f"p95 {_pct(per_step, 0.95):.2f} ms   [target p50 < 5 ms]"
        )
        print(f"  HTTP + SDK per model call (beyond the fake's latency): p50 {statistics.median(http):.2f} ms, p95 {_pct(http, 0.95):.2f} ms")
        span = await bench_parallel_reads(db)
        print(f"  k=5 reads of L={READ_LATENCY * 1000:.0f} ms in one response: {span * 1000:.1f} ms = {span / READ_LATENCY:.2f} L   [target < 1.2 L]")
        for latency in CONCURRENT_MODEL_LATENCIES:
            alone, together, cpu = await bench_concurrency(db, model_latency=latency)
            print(
                f"  100 concurrent conversations (3 steps of {latency * 1000:.0f} ms model, 20 ms tool): one alone "
                f"{alone * 1000:.0f} ms, 100 at once {together * 1000:.0f} ms = {together / alone:.2f}x   [target <= 1.5x]; "
                f"bot CPU {cpu * 1000 / 100:.1f} ms per conversation"
            )


@contextmanager
def _database(url: str | None, tmp: Path) -> Iterator[Database]:
    """A SQLite file, or a throwaway schema on PostgreSQL (never the shared `public` schema)."""
    if not url:
        db = Database(make_engine(f"sqlite:///{tmp / 'bench.db'}"))
        try:
            yield db
        finally:
            db.dispose()
        return
    from tests.pg import postgres_schema_database

    yield from postgres_schema_database(url, prefix="bench")


def main() -> None:
    """Run the loop benchmark and print its figures."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
