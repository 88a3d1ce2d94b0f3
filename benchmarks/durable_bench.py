"""Durable turns benchmark (issue #10).

Prints (targets in brackets):
- restart → explicit message: a `chatops run --http` process is SIGKILLed while N questions wait on the model, a
  new process starts on the same SQLite file; the time from the new process being ready (its "serving HTTP" log
  line) to each orphan's explicit message stored in the fake Slack [p50 and p99 < 5 s]. Peer, same processes: the
  time from ready to the first Slack call of a fresh question sent at that moment;
- the heartbeat at 100 running turns: one heartbeat UPDATE (p50, p99), and 100 concurrent conversations with no
  heartbeat (the peer), the default heartbeat (every 10 s) and one 100x as often: wall time and bot CPU per
  conversation [no measurable change at the default rate].

Run: `python -m benchmarks durable`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.loop_bench import ACTOR, _database, _deps, _pct, _thread, fake_api
from bot.storage.migrations import migrate
from tests.fakes.anthropic_server import AnthropicServer, Reply, text_reply
from tests.fakes.slack_payloads import event_callback, mention, signed_headers
from tests.fakes.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
ORPHANS = 8
ROUNDS = 3
HEARTBEAT_ROUNDS = 5
HEARTBEATS = {"no heartbeat": 0.0, "heartbeat every 10 s (default)": 10.0, "heartbeat every 0.1 s (100x)": 0.1}
CHANNEL = "C0OPS"
USER = "U0ALICE"


# ---------------------------------------------------------------- restart → explicit message


class _Child:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.port = port
        self.ready_at: float | None = None
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--http", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "serving HTTP" in line and self.ready_at is None:
                self.ready_at = time.monotonic()
                self._ready.set()
        self._ready.set()

    def wait_ready(self) -> float:
        assert self._ready.wait(120) and self.ready_at is not None, "the bot did not start"
        return self.ready_at

    def post(self, body: str) -> None:
        import urllib.request

        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/slack/events", data=body.encode(), headers=signed_headers(body))
        with urllib.request.urlopen(req, timeout=30):
            pass

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(60)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ask(child: _Child, slack: FakeSlack, text: str) -> str:
    ts = slack.post_user_message(CHANNEL, user=USER, text=text)
    child.post(json.dumps(event_callback(mention(channel=CHANNEL, user=USER, text=text, ts=ts))))
    return ts


def _explained_at(slack: FakeSlack, thread_ts: str) -> float | None:
    """When the explicit message reached the fake (a post, or an update of the stale progress message)."""
    for call in slack.calls():
        if call.method in ("chat.postMessage", "chat.update") and "I was restarted" in str(call.args.get("text")):
            if call.args.get("thread_ts") == thread_ts or any(m.ts == call.args.get("ts") and m.thread_ts == thread_ts for m in slack.bot_messages(CHANNEL)):
                return call.at
    return None


def restart_round(tmp: Path, slack: FakeSlack, model: AnthropicServer) -> tuple[list[float], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATOPS_", "SLACK_", "JIRA_", "DATABASE_URL"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": FakeSlack.BOT_TOKEN, "SLACK_SIGNING_SECRET": FakeSlack.SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url, "ANTHROPIC_API_KEY": "sk-ant-bench", "ANTHROPIC_BASE_URL": model.url,
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "CHATOPS_ADMINS": USER, "CHATOPS_LOG_LEVEL": "INFO",
        }
    )
    gate = threading.Event()
    first = _Child(env, _free_port())
    first.wait_ready()
    model.queue(*(Reply(content=["Still looking"], gate=gate) for _ in range(ORPHANS)))
    before = len(model.bodies())
    asked = [_ask(first, slack, f"<@{FakeSlack.BOT_USER_ID}> question {i}") for i in range(ORPHANS)]
    model.wait_for_messages(before + ORPHANS, timeout=120)
    first.stop(signal.SIGKILL)
    gate.set()
    model.queue(*(text_reply("Answered again.") for _ in range(ORPHANS + 1)))
    second = _Child(env, _free_port())
    ready = second.wait_ready()
    fresh = _ask(second, slack, f"<@{FakeSlack.BOT_USER_ID}> a fresh question")
    slack.wait_for(lambda _r: all(_explained_at(slack, ts) is not None for ts in asked), 120)
    slack.wait_for(lambda _r: any(c.args.get("thread_ts") == fresh or c.args.get("timestamp") == fresh for c in slack.calls()), 60)
    peer = min(c.at for c in slack.calls() if c.args.get("thread_ts") == fresh or c.args.get("timestamp") == fresh) - ready
    latencies = [(_explained_at(slack, ts) or 0.0) - ready for ts in asked]
    second.stop()
    return latencies, peer


# ---------------------------------------------------------------- heartbeat cost


async def heartbeat_cost(db: Any) -> tuple[list[float], dict[str, list[tuple[float, float]]]]:
    """One heartbeat UPDATE at 100 running turns (ms), and 100 concurrent conversations with/without heartbeats."""
    with fake_api(3, delay=0.050) as url:
        deps, _ = await _deps(url, db, 0.020)
        agent = deps.agent
        await agent.run_turn(actor=ACTOR, thread=_thread(-1), text="warm up")
        leases = deps.leases
        # 100 running turns of this process, for the UPDATE's cost
        for n in range(100):
            await deps.store.begin_turn(team_id="TB", channel_id="CB", thread_ts=f"hb-{time.time()}-{n}", user_id="U", turn_id=f"hb{n}-{time.time_ns()}", lease=deps.store.lease_values(leases.owner, leases.lease))
        updates: list[float] = []
        for _ in range(200):
            started = time.perf_counter()
            await deps.store.heartbeat(leases.owner, leases.lease)
            updates.append((time.perf_counter() - started) * 1000)
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in HEARTBEATS}
        for _ in range(HEARTBEAT_ROUNDS):
            for label, every in HEARTBEATS.items():  # interleaved, so machine noise hits every variant alike
                stop = asyncio.Event()
                ticker = asyncio.create_task(_beat(deps, stop, every)) if every else None
                started, cpu = time.perf_counter(), time.process_time()
                results = await asyncio.gather(*(agent.run_turn(actor=ACTOR, thread=_thread(n), text=f"c{n}") for n in range(100)))
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                stop.set()
                if ticker is not None:
                    await ticker
                assert all(r.status == "answered" for r in results)
                runs[label].append((wall, cpu * 1000 / 100))
        await deps.llm.aclose()  # type: ignore[union-attr]
    return updates, runs


async def _beat(deps: Any, stop: asyncio.Event, every: float) -> None:
    """Heartbeat every `every` seconds until `stop`."""
    leases = deps.leases
    while not stop.is_set():
        await deps.store.heartbeat(leases.owner, timedelta(seconds=30))
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


async def _heartbeat_main() -> None:
    with tempfile.TemporaryDirectory() as tmp, _database(os.environ.get("BENCH_DATABASE_URL"), Path(tmp)) as db:
        await migrate(db)
        updates, runs = await heartbeat_cost(db)
    where = "PostgreSQL" if db.is_postgres else "SQLite file"
    print(f"  heartbeat UPDATE with 100 running turns ({where}): p50 {statistics.median(updates):.2f} ms, p99 {_pct(updates, 0.99):.2f} ms")
    for label, values in runs.items():
        walls, cpus = [w for w, _ in values], [c for _, c in values]
        print(
            f"  100 concurrent conversations, {label}: wall p50 {statistics.median(walls) * 1000:.0f} ms "
            f"(max {max(walls) * 1000:.0f}), bot CPU p50 {statistics.median(cpus):.1f} ms/conversation (max {max(cpus):.1f})   "
            "[target: no measurable change]"
        )


def main() -> None:
    """Run the durable-turns benchmark and print its figures."""
    logging.getLogger("chatops").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # the fake model writing to a killed client
    print(f"durable turns benchmark ({ORPHANS} orphaned turns per restart, {ROUNDS} restarts, SQLite file)")
    latencies: list[float] = []
    peers: list[float] = []
    with FakeSlack() as slack, AnthropicServer() as model:
        slack.add_channel(CHANNEL, name="ops")
        slack.add_user(USER, name="Alice Doe", email="alice@example.com")
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as tmp:
                found, peer = restart_round(Path(tmp), slack, model)
                latencies.extend(found)
                peers.append(peer)
    print(
        f"  restart -> explicit message, after the new process is ready: p50 {statistics.median(latencies):.2f} s, "
        f"p99 {_pct(latencies, 0.99):.2f} s (n={len(latencies)})   [target < 5 s]"
    )
    print(f"  peer: ready -> first Slack call for a fresh question: p50 {statistics.median(peers):.2f} s, max {max(peers):.2f} s")
    asyncio.run(_heartbeat_main())


if __name__ == "__main__":
    main()
