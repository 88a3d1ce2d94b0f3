"""Provider benchmark: the loop's own overhead per step for every provider, and the scripted eval suite.

Prints (targets in brackets):
- per provider (anthropic, bedrock, vertex, openai; the first-party Anthropic adapter is the peer): orchestration
  overhead per step, excluding the whole `llm.complete` call and tool time [p50 < 5 ms], and the HTTP + SDK cost
  of one model call against the local fake (SigV4 signing, event-stream decoding, Google auth included);
- `chatops eval --provider scripted -k 4` over the shipped suite: wall and CPU time [< 60 s on 2 cores], with
  the same suite at k=1 as its peer.

Run: `python -m benchmarks providers`. Each provider talks to its fake server in this process (tests/fakes).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import tempfile
import time
from pathlib import Path

import pytest

from benchmarks.loop_bench import TimedLLM
from bot.agent.loop import ThreadRef
from bot.clock import utcnow
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate
from bot.tools.base import Actor
from bot.wiring import build_deps
from integrations.tickets.local import LocalTickets
from tests.agent_harness import Recorder, ScriptedAuthorizer, build_tools
from tests.contract.providers import PROVIDERS, provider_rig
from tests.fakes.messages_events import Call, Turn

ACTOR = Actor(user_id="UBENCH", team_id="TB", channel_id="CB", channel_type="public", name="Bench")
REPO = Path(__file__).resolve().parents[1]


async def bench_provider(name: str, tmp: Path, *, turns: int = 25, steps: int = 3) -> tuple[list[float], list[float]]:
    """Per-step overhead (ms) and per-call model time (ms) over `turns` turns of `steps` steps."""
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp / f'{name}.db'}", anthropic_api_key="sk-ant-bench")  # type: ignore[call-arg,arg-type]
    db = Database(make_engine(settings.database_url))
    await migrate(db)
    overhead: list[float] = []
    with pytest.MonkeyPatch.context() as mp, provider_rig(name, settings, mp, tmp) as rig:
        for n in range(turns):
            rig.script(*(Turn([Call("get_ticket", {"key": f"OPS-{n}{s}"})], stop_reason="tool_use") for s in range(steps - 1)), Turn(["Done."]))
        timed = TimedLLM(rig.llm)
        deps = await build_deps(rig.settings, db=db, tickets=LocalTickets(db, clock=utcnow), llm=timed, tools=build_tools(Recorder()), authorizer=ScriptedAuthorizer(), slack=None)
        agent = deps.agent
        for n in range(turns):
            before = len(timed.calls)
            started = time.perf_counter()
            result = await agent.run_turn(actor=ACTOR, thread=ThreadRef("TB", "CB", f"1700000000.{n:06d}"), text="go")
            wall = time.perf_counter() - started
            model = sum(timed.calls[before:])
            tools = sum(t.duration_ms for t in result.trace) / 1000
            if n > 0:  # the first turn pays imports and connection setup
                overhead.append((wall - model - tools) / result.steps * 1000)
        calls = [c * 1000 for c in timed.calls[steps:]]
        await timed.aclose()
    db.dispose()
    return overhead, calls


async def bench_eval(k: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of `chatops eval --provider scripted -k K`, and the exit code."""
    from bot.evals.cli import run_eval

    args = argparse.Namespace(provider="scripted", model=None, k=k, concurrency=4, tasks=None, report=None, min_pass=None, dir=REPO / "evals")
    wall, cpu = time.perf_counter(), time.process_time()
    code = await run_eval(Settings(_env_file=None), args, out=io.StringIO())  # type: ignore[call-arg]
    return time.perf_counter() - wall, time.process_time() - cpu, code


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _line(label: str, values: list[float], unit: str) -> str:
    return f"{label:<34} p50 {statistics.median(values):7.2f} {unit}  p99 {_pct(values, 99):7.2f} {unit}  (n={len(values)})"


async def _main() -> None:
    logging.getLogger("chatops").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        for name in PROVIDERS:
            overhead, calls = await bench_provider(name, Path(tmp))
            print(_line(f"{name}: loop overhead per step", overhead, "ms") + "   [p50 < 5 ms]")
            print(_line(f"{name}: HTTP + SDK per model call", calls, "ms"))
    for k in (1, 4):
        wall, cpu, code = await bench_eval(k)
        target = "   [< 60 s on 2 cores]" if k == 4 else "   (peer)"
        print(f"eval --provider scripted -k {k}: wall {wall:5.1f} s  cpu {cpu:5.1f} s  exit {code}{target}")


def main() -> None:
    """Entry point for `python -m benchmarks providers`."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
