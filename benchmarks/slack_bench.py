"""Slack surface benchmark: chatops against a bare slack-bolt + anthropic bot, in the same run, as real processes.

Each bot runs as its own process (chatops as `python -m bot run --http`, once with one worker and once with
`--workers 2`; the peer as `python -m benchmarks.bare_bot`). A child process plays Slack and Anthropic (its CPU is
not the bots'): it serves the fake Web and Messages APIs (every model call takes MODEL_SECONDS) and sends bursts of
BURST signed mentions at once, timing each ack on its own clock. Per bot: one warm-up burst, then BURSTS bursts
(BURSTS x BURST conversations). Figures, each bot's own and chatops / bare:

- process CPU per conversation: utime + stime from /proc for the whole process tree, over each burst until every
  conversation is finished (median of the bursts);
- all answered: from the first request of a burst until the last conversation finished in Slack (each bot's
  reply: the short answer is one chat.postMessage for both, which also clears chatops' thread status), median and
  worst of the bursts;
- ack latency p50 / p99 over every request;
- first visible feedback p50 / p99 (chatops: thread status or 👀; the bare bot shows nothing before its answer);
- RSS growth of the process tree from after the warm-up to after the last burst.

Targets (issue #12): CPU <= 2x bare; 200-burst <= 1.5x bare (one worker) and <= 1.2x (two workers); ack p99 <= 1.5x;
first feedback p50 < 500 ms; RSS growth < 20 MB after 1,000 conversations. Never a mean alone.

Run: `python -m benchmarks slack` (BENCH_BURSTS, BENCH_DATABASE_URL for PostgreSQL: workers > 1 need it).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.anthropic_server import AnthropicServer, Reply
from tests.fakes.slack_payloads import event_callback, mention, signed_headers
from tests.fakes.slack_server import FakeSlack

BURST = int(os.environ.get("BENCH_BURST", "200"))
BURSTS = int(os.environ.get("BENCH_BURSTS", "5"))
MODEL_SECONDS = 2.0
USER = "U0BENCH"
MENTION = f"<@{FakeSlack.BOT_USER_ID}>"
ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ the child playing Slack and Anthropic
def _answer(body: dict[str, Any]) -> Reply:
    return Reply(content=["All good."], delay=MODEL_SECONDS)


def _slack_process(channel: str, inbox: Any, outbox: Any) -> None:
    with FakeSlack() as slack, AnthropicServer(cache_simulation=False) as model:
        slack.add_channel(channel, name="bench")
        slack.add_user(USER, name="Bench User", email="bench@example.com")
        model.respond_with(_answer)
        outbox.put((slack.api_url, model.url))
        while (job := inbox.get()) is not None:
            kind, *args = job
            if kind == "ask":
                outbox.put([slack.post_user_message(channel, user=USER, text=f"{MENTION} status?") for _ in range(args[0])])
            elif kind == "burst":
                outbox.put(asyncio.run(_burst(*args)))
            elif kind == "wait":  # until `count` calls of `method` (with `status` when given), then all calls
                method, count, status, timeout = args
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    seen = [c for c in slack.calls(method) if status is None or c.args.get("status") == status]
                    if len(seen) >= count:
                        break
                    time.sleep(0.02)
                outbox.put([(c.method, c.args.get("thread_ts") or c.args.get("timestamp"), c.args.get("status"), c.at) for c in slack.calls()])


async def _burst(url: str, bodies: list[str]) -> tuple[list[float], list[float]]:
    """POST every body at once; (send times, ack latencies) in body order."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def post(body: str) -> tuple[float, float]:
            headers = signed_headers(body)
            sent = time.monotonic()
            async with session.post(url, data=body.encode(), headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
            return sent, time.monotonic() - sent

        results = await asyncio.gather(*(post(b) for b in bodies))
    return [r[0] for r in results], [r[1] for r in results]


@dataclass
class Slack:
    """Handle on the child process."""

    api_url: str
    model_url: str
    channel: str
    inbox: Any
    outbox: Any

    def ask(self, job: tuple[Any, ...], timeout: float = 300) -> Any:
        self.inbox.put(job)
        return self.outbox.get(timeout=timeout)


@contextmanager
def slack_process() -> Iterator[Slack]:
    ctx = multiprocessing.get_context("spawn")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    channel = f"C0B{uuid.uuid4().hex[:8].upper()}"
    child = ctx.Process(target=_slack_process, args=(channel, inbox, outbox), daemon=True)
    child.start()
    try:
        api_url, model_url = outbox.get(timeout=60)
        yield Slack(api_url, model_url, channel, inbox, outbox)
    finally:
        inbox.put(None)
        child.join(10)


# ------------------------------------------------------------------ the bots, as processes
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """`pid` and every descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process tree, in seconds."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / TICK


def rss_mb(pid: int) -> float:
    """Resident memory of the process tree, in MB."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


@dataclass
class Bot:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    answer_method: str
    """The last Slack call of a finished conversation (counted to know a burst is done)."""
    answer_status: str | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path) -> None:
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/slack/events", data=b"{}", timeout=2):
                    pass
                return
            except urllib.error.HTTPError:
                return  # it answers (401: unsigned)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class Figures:
    cpu_ms: list[float] = field(default_factory=list)
    all_answered: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    feedback: list[float] = field(default_factory=list)
    answered: int = 0
    twice: int = 0
    rss_growth: float = 0.0
    conversations: int = 0


def _start_profiler(bot: Bot) -> subprocess.Popen[bytes] | None:
    """With BENCH_PROFILE=DIR: py-spy samples chatops' process tree during the measured bursts, written as
    collapsed stacks to DIR/<bot name>.txt (summarise with `python -m benchmarks.profile_summary FILE`)."""
    out = os.environ.get("BENCH_PROFILE")
    if not out or bot.name == "bare" or bot.proc is None:
        return None
    path = Path(out) / f"{bot.name.replace(' ', '_')}.txt"
    argv = ["py-spy", "record", "--pid", str(bot.proc.pid), "--subprocesses", "--rate", "100", "--nonblocking", "--format", "raw", "-o", str(path)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_bot(bot: Bot, slack: Slack, cwd: Path) -> Figures:
    """Warm-up burst, then BURSTS bursts; the figures."""
    bot.start(cwd)
    assert bot.proc is not None
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    figures = Figures()
    done = 0
    profiler: subprocess.Popen[bytes] | None = None
    try:
        for burst in range(BURSTS + 1):
            asked = slack.ask(("ask", BURST))
            bodies = [
                json.dumps(event_callback(mention(channel=slack.channel, user=USER, text=f"{MENTION} status?", ts=ts), event_id=f"Ev{uuid.uuid4().hex[:12]}"))
                for ts in asked
            ]
            cpu_before = cpu_seconds(bot.proc.pid)
            sent, acks = slack.ask(("burst", url, bodies))
            done += BURST
            calls = slack.ask(("wait", bot.answer_method, done, bot.answer_status, 180))
            cpu = cpu_seconds(bot.proc.pid) - cpu_before
            if burst == 0:
                rss_start = rss_mb(bot.proc.pid)
                profiler = _start_profiler(bot)
                continue
            sent_at = dict(zip(asked, sent, strict=True))
            start = min(sent)
            answers: dict[str, list[float]] = {}
            feedback: dict[str, float] = {}
            for method, thread, status, at in calls:
                if thread not in sent_at:
                    continue
                if method in ("chat.postMessage", "chat.startStream"):
                    answers.setdefault(thread, []).append(at)
                visible = method in ("chat.postMessage", "chat.startStream", "reactions.add") or (method == "assistant.threads.setStatus" and status)
                if visible and thread not in feedback:
                    feedback[thread] = at - sent_at[thread]
            # finished: the bot's reply (chatops posts a short answer in one call; Slack then clears the status)
            ends = [at for m, t, st, at in calls if t in sent_at and m == bot.answer_method and (bot.answer_status is None or st == bot.answer_status)]
            figures.cpu_ms.append(cpu / BURST * 1000)
            figures.all_answered.append(max(ends) - start if len(ends) >= BURST else float("nan"))
            figures.acks += acks
            figures.feedback += list(feedback.values())
            figures.answered += len(answers)
            figures.twice += sum(1 for a in answers.values() if len(a) > 1)
            figures.conversations += BURST
        figures.rss_growth = rss_mb(bot.proc.pid) - rss_start
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
        bot.stop()
    return figures


# ------------------------------------------------------------------ printing
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _row(label: str, bare: float, mine: float, unit: str, target: str = "") -> str:
    ratio = mine / bare if bare else float("nan")
    return f"  {label:<34} {bare:9.1f} {unit:<3} {mine:9.1f} {unit:<3} {ratio:6.2f}x  {target}"


def report(name: str, bare: Figures, mine: Figures, burst_target: float) -> None:
    print(f"\n  {name}: {mine.answered}/{mine.conversations} answered ({mine.twice} twice); bare {bare.answered}/{bare.conversations}")
    print(f"  {'figure':<34} {'bare':>13} {name:>13} {'ratio':>7}  target")
    med = statistics.median
    print(_row("CPU per conversation, median", med(bare.cpu_ms), med(mine.cpu_ms), "ms", "<= 2x"))
    print(_row("CPU per conversation, worst burst", max(bare.cpu_ms), max(mine.cpu_ms), "ms"))
    print(_row(f"all {BURST} answered, median", med(bare.all_answered) * 1000, med(mine.all_answered) * 1000, "ms", f"<= {burst_target}x"))
    print(_row(f"all {BURST} answered, worst burst", max(bare.all_answered) * 1000, max(mine.all_answered) * 1000, "ms"))
    print(_row("ack p50", pct(bare.acks, 50) * 1000, pct(mine.acks, 50) * 1000, "ms"))
    print(_row("ack p99", pct(bare.acks, 99) * 1000, pct(mine.acks, 99) * 1000, "ms", "<= 1.5x"))
    print(_row("first visible feedback p50", pct(bare.feedback, 50) * 1000, pct(mine.feedback, 50) * 1000, "ms", "< 500 ms"))
    print(_row("first visible feedback p99", pct(bare.feedback, 99) * 1000, pct(mine.feedback, 99) * 1000, "ms"))
    print(_row(f"RSS growth after {mine.conversations} conv.", bare.rss_growth, mine.rss_growth, "MB", "< 20 MB"))


def _env(slack: Slack, workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATOPS_", "SLACK_", "JIRA_", "DATABASE_URL"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": FakeSlack.BOT_TOKEN,
            "SLACK_SIGNING_SECRET": FakeSlack.SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "ANTHROPIC_BASE_URL": slack.model_url,
            "CHATOPS_MODEL": "claude-sonnet-4-6",
        }
    )
    env.update(extra)
    return env


@contextmanager
def database(kind: str, workdir: Path, name: str) -> Iterator[str]:
    """A fresh database for one run: a SQLite file, or a new schema on BENCH_DATABASE_URL (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    from sqlalchemy import create_engine, text

    url = os.environ["BENCH_DATABASE_URL"]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def chatops_bot(slack: Slack, workdir: Path, workers: int, database_url: str) -> Bot:
    port = _free_port()
    argv = [sys.executable, "-m", "bot", "run", "--http", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    env = _env(slack, workdir, {"DATABASE_URL": database_url})
    # the last call of a conversation: the answer, one chat.postMessage ("All good." never leaves the stream
    # buffer, so it is posted, not streamed; Slack clears the thread status when it is posted)
    return Bot(f"chatops x{workers}", argv, env, port, "chat.postMessage")


def bare_bot(slack: Slack, workdir: Path) -> Bot:
    port = _free_port()
    argv = [sys.executable, "-m", "benchmarks.bare_bot", "--port", str(port)]
    return Bot("bare", argv, _env(slack, workdir, {}), port, "chat.postMessage")


def configurations() -> list[tuple[str, int]]:
    """(database, workers) of the chatops runs: SQLite with one worker; with BENCH_DATABASE_URL also PostgreSQL
    with one and with two workers. BENCH_CONFIGS (e.g. `pg:2`) picks some."""
    chosen = os.environ.get("BENCH_CONFIGS")
    if chosen:
        return [(c.split(":")[0], int(c.split(":")[1])) for c in chosen.split(",")]
    return [("sqlite", 1)] + ([("pg", 1), ("pg", 2)] if os.environ.get("BENCH_DATABASE_URL") else [])


def main() -> None:
    """Run the benchmark and print its figures."""
    print(f"{BURST} mentions at once over signed HTTP, {BURSTS} bursts after a warm-up, every model call {MODEL_SECONDS:.0f} s, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for kind, count in configurations():
            # the peer runs just before each configuration: the machine's speed drifts over a run of minutes (the
            # bare bot's CPU per conversation has ranged 1.9-2.6 ms between runs), and each ratio compares neighbours
            with slack_process() as slack:
                bare = run_bot(bare_bot(slack, workdir), slack, workdir)
            name = f"chatops {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} x{count}"
            with slack_process() as slack, database(kind, workdir, f"bench-{count}") as url:
                try:
                    mine = run_bot(chatops_bot(slack, workdir, count, url), slack, workdir)
                except RuntimeError as exc:
                    print(f"\n  {name}: {exc}")
                    continue
            report(name, bare, mine, 1.5 if count == 1 else 1.2)


if __name__ == "__main__":
    main()
