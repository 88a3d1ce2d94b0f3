"""What one model call and one no-tool turn cost the bot in CPU (issue #12), against a bare SDK call in the same run.

The fake Messages API (tests/fakes/anthropic_server.py) runs in a child process, so only the bot side is measured:
`time.process_time()` around each call, one call at a time, the cases interleaved round by round (the machine's load
moves them alike). Every call is answered "All good." (end_turn), streamed in 8-character deltas when asked to
stream, as in the Slack benchmark.

Cases:
- `bare, tiny`: `AsyncAnthropic().messages.create` with one short user message (the bare bot's call);
- `bare + catalogue`: the same with our system prompt and the full tool catalogue (what the request carries);
- `bare + catalogue, stream`: the same streamed, iterating the SDK's events;
- `AnthropicLLM, no stream` / `AnthropicLLM, stream`: our adapter with the catalogue, the agent's request
  (the stream with an `on_text` callback, as every Slack turn does);
- `Agent turn`: one no-tool turn through `Agent.run_turn` (real tools, policy and SQLite store, a new thread each
  time, a progress callback that drops the events): what a turn costs around its model call.

Printed: median and p99 of CPU per call in µs, and the ratio of medians to `bare, tiny`; then a cProfile summary of
the streamed adapter call and of the agent turn (functions by own time, and the main cumulative ones).

    .venv/bin/python -m benchmarks model_call           # BENCH_ROUNDS=N, BENCH_PER_ROUND=N to change the repeats
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from anthropic import AsyncAnthropic

from benchmarks.child_server import child_server
from bot.agent.state import ThreadRef
from bot.agent.types import ProgressEvent
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from bot.tools.base import Actor
from bot.tools.registry import all_tools
from bot.wiring import build_deps
from bot.wiring_adapters import build_llm
from integrations.llm.anthropic import AnthropicLLM
from integrations.llm.base import Message, TextBlock
from prompts import load_prompt

MODEL = "claude-sonnet-4-6"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
PER_ROUND = int(os.environ.get("BENCH_PER_ROUND", "30"))
PROFILED = 200
ACTOR = Actor(user_id="U0ALICE", team_id="T01", channel_id="C01", channel_type="public", name="Alice Example")
QUESTION = "Is everything all right with the OPS board today?"

FAKE = (
    "import sys; from tests.fakes.anthropic_server import AnthropicServer, text_reply; "
    "s = AnthropicServer(); s.respond_with(lambda body: text_reply('All good.')); s.start(); "
    "print(s.url, flush=True); sys.stdin.read(); s.stop()"
)

Call = Callable[[], Awaitable[Any]]


def fake_process() -> AbstractContextManager[str]:
    """The fake Messages API in its own process (its CPU is not the bot's); yields its base URL."""
    return child_server(FAKE)


def catalogue() -> list[dict[str, Any]]:
    """The tool catalogue as the request sends it (a cache breakpoint on the last tool)."""
    specs: list[dict[str, Any]] = [t.spec().model_dump() for t in all_tools()]
    specs[-1] = {**specs[-1], "cache_control": {"type": "ephemeral"}}
    return specs


def production_llm(settings: Settings) -> AnthropicLLM:
    """The model client as `chatops run` wires it."""
    llm = build_llm(settings)
    assert isinstance(llm, AnthropicLLM)
    return llm


async def cases(url: str, workdir: Path) -> tuple[dict[str, Call], Any]:
    """The calls to measure, by label, and the deps to close."""
    bare = AsyncAnthropic(api_key="sk-ant-bench", base_url=url, max_retries=0)  # as the bare bot builds it
    tools = catalogue()
    system = [{"type": "text", "text": load_prompt("system"), "cache_control": {"type": "ephemeral"}}]
    tiny = [{"role": "user", "content": QUESTION}]

    async def bare_tiny() -> Any:
        return await bare.messages.create(model=MODEL, max_tokens=1024, messages=tiny)  # type: ignore[arg-type]

    async def bare_catalogue() -> Any:
        return await bare.messages.create(model=MODEL, max_tokens=1024, messages=tiny, system=system, tools=tools)  # type: ignore[arg-type]

    async def bare_stream() -> None:
        stream = await bare.messages.create(model=MODEL, max_tokens=1024, messages=tiny, system=system, tools=tools, stream=True)  # type: ignore[arg-type]
        async for _ in stream:  # type: ignore[union-attr]
            pass

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{workdir / 'bench.db'}",
        anthropic_api_key="sk-ant-bench",  # type: ignore[arg-type]
        anthropic_base_url=url,
        chatops_model=MODEL,
    )
    llm = production_llm(settings)
    specs = [t.spec() for t in all_tools()]
    prompt = load_prompt("system")
    messages = [Message(role="user", content=[TextBlock(text=QUESTION)])]

    async def on_text(delta: str) -> None:
        return None

    async def adapter(stream: bool) -> Any:
        return await llm.complete(
            system=prompt, messages=messages, tools=specs, max_tokens=8192, on_text=on_text if stream else None, user_hash="0" * 32
        )

    deps = await build_deps(settings, db=Database(make_engine(settings.database_url)), llm=production_llm(settings), slack=None)
    turns = iter(range(10**9))

    async def progress(event: ProgressEvent) -> None:
        return None

    async def agent_turn() -> Any:
        thread = ThreadRef(team_id="T01", channel_id="C01", thread_ts=f"1700000000.{next(turns):06d}")
        result = await deps.agent.run_turn(actor=ACTOR, thread=thread, text=QUESTION, on_progress=progress)
        assert result.status == "answered", result
        return result

    calls: dict[str, Call] = {
        "bare, tiny": bare_tiny,
        "bare + catalogue": bare_catalogue,
        "bare + catalogue, stream": bare_stream,
        "AnthropicLLM, no stream": lambda: adapter(False),
        "AnthropicLLM, stream": lambda: adapter(True),
        "Agent turn (no tool)": agent_turn,
    }
    return calls, deps


async def measure(calls: dict[str, Call]) -> dict[str, list[float]]:
    """CPU per call in µs, by label."""
    for call in calls.values():  # warm-up: connections, caches, first-call imports
        for _ in range(5):
            await call()
    samples: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(ROUNDS):
        for label, call in calls.items():
            for _ in range(PER_ROUND):
                started = time.process_time()
                await call()
                samples[label].append((time.process_time() - started) * 1e6)
    return samples


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


async def profile(call: Call, label: str) -> None:
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall time: the machine is shared
    profiler.enable()
    for _ in range(PROFILED):
        await call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats(r"(anthropic|integrations|bot|prompts)/", 30)
    print(f"\n   -- cProfile, {PROFILED} x {label}")
    for line in out.getvalue().splitlines():
        if line.strip() and not line.startswith(("   Ordered by", "   List reduced")):
            print("   " + line.replace(str(Path(sys.prefix)), "<venv>"))


async def run(url: str, workdir: Path) -> None:
    calls, deps = await cases(url, workdir)
    try:
        samples = await measure(calls)
        base = statistics.median(samples["bare, tiny"])
        print(f"   CPU per call (µs), {ROUNDS} rounds x {PER_ROUND} calls per case, interleaved; fake API in a child process")
        print(f"   {'case':<28}{'median':>9}{'p99':>9}{'vs bare':>9}")
        for label, values in samples.items():
            median = statistics.median(values)
            print(f"   {label:<28}{median:>9.0f}{p99(values):>9.0f}{median / base:>8.2f}x")
        if os.environ.get("BENCH_PROFILE", "1") != "0":
            await profile(calls["AnthropicLLM, stream"], "AnthropicLLM.complete (stream)")
            await profile(calls["Agent turn (no tool)"], "Agent.run_turn (no tool)")
    finally:
        await deps.aclose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, fake_process() as url:
        asyncio.run(run(url, Path(tmp)))


if __name__ == "__main__":
    main()
