"""Slack surface benchmark: 200 mentions arriving at once over signed HTTP while every model call takes 2 s.

Prints (targets in brackets):
- ack latency p50 / p99 / max of the chatops app, and of a bare slack-bolt AsyncApp that only acks, measured in
  the same run [chatops p99 well under Slack's 3 s, close to the bare app];
- time from sending an event to the first visible feedback in Slack (thread status or 👀) [p99 < 1 s];
- all 200 answered, none twice (a quarter of the events are also redelivered as Slack retries), and how long
  the whole burst took [about one model latency plus overhead, not 200 of them].

Everything on the bot's side is real: the Bolt app from `create_app` served by `build_http_app`, the Agent, tools
and policy on a SQLite file (BENCH_DATABASE_URL for PostgreSQL), the AnthropicLLM and the AsyncWebClient. A
child process plays Slack and Anthropic (their CPU is not the bot's): it serves the fake Web and Messages APIs,
sends the 200 signed requests at once and times them; feedback is timed on its clock too (time.monotonic() is
system-wide). Run: `python -m benchmarks slack`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.loop import Agent
from bot.deps import Deps, utcnow
from bot.policy.authorizer import build_authorizer
from bot.settings import Settings
from bot.slack.app import create_app, surface_of
from bot.slack.server import build_http_app, use_worker_threads
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.tools.registry import all_tools
from integrations.llm.anthropic import AnthropicLLM
from integrations.tickets.local import LocalTickets
from integrations.tickets.seed import seed_demo
from tests.fakes.anthropic_server import AnthropicServer, Reply
from tests.fakes.slack_server import FakeSlack, event_callback, mention, signed_headers

EVENTS = 200
MODEL_SECONDS = 2.0
RETRIED = EVENTS // 4
USER = "U0BENCH"
MENTION = f"<@{FakeSlack.BOT_USER_ID}>"


@dataclass
class Slack:
    """The child process playing Slack (and Anthropic): its URLs, the channel's messages, and a way to make it
    send a burst of events from its own process, timing each request there."""

    slack_url: str
    model_url: str
    channel: str
    asked: list[str]
    inbox: Any = None
    outbox: Any = None

    def burst(self, url: str, bodies: list[str], *, retry: bool = False) -> tuple[list[float], list[float]]:
        """Have "Slack" POST every body at once; (send times, ack latencies), time.monotonic() in the child."""
        self.inbox.put((url, bodies, retry))
        result: tuple[list[float], list[float]] = self.outbox.get(timeout=120)
        return result


def _answer(body: dict[str, Any]) -> Reply:
    return Reply(content=["All good."], delay=MODEL_SECONDS)


def _slack_process(channel: str, count: int, inbox: Any, outbox: Any) -> None:
    with FakeSlack() as slack, AnthropicServer() as model:
        slack.add_channel(channel, name="bench")
        slack.add_user(USER, name="Bench User", email="bench@example.com")
        model.respond_with(_answer)
        asked = [slack.post_user_message(channel, user=USER, text=f"{MENTION} status {i}?") for i in range(count)]
        outbox.put(Slack(slack_url=slack.url, model_url=model.url, channel=channel, asked=asked))
        while (job := inbox.get()) is not None:
            url, bodies, retry = job
            outbox.put(asyncio.run(_burst(url, bodies, retry=retry)))


@contextmanager
def slack_process(count: int) -> Iterator[Slack]:
    """Start the child process playing Slack and Anthropic."""
    ctx = multiprocessing.get_context("spawn")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    # a fresh channel per run: claims are kept in the database, and a PostgreSQL one outlives the run
    channel = f"C0B{uuid.uuid4().hex[:8].upper()}"
    child = ctx.Process(target=_slack_process, args=(channel, count, inbox, outbox), daemon=True)
    child.start()
    try:
        slack: Slack = outbox.get(timeout=60)
        slack.inbox, slack.outbox = inbox, outbox
        yield slack
    finally:
        inbox.put(None)
        child.join(10)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _ms(values: list[float]) -> str:
    p50, p99 = _percentile(values, 50) * 1000, _percentile(values, 99) * 1000
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {max(values) * 1000:7.1f} ms"


async def _serve_app(web_app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/slack/events"


def _event(channel: str, ts: str, event_id: str) -> str:
    return json.dumps(event_callback(mention(channel=channel, user=USER, text=f"{MENTION} status?", ts=ts), event_id=event_id))


async def _burst(url: str, bodies: list[str], *, retry: bool = False) -> tuple[list[float], list[float]]:
    """POST every body at once; (send times, ack latencies) in body order."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def post(body: str) -> tuple[float, float]:
            headers = signed_headers(body)
            if retry:
                headers.update({"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
            sent = time.monotonic()
            async with session.post(url, data=body.encode(), headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
            return sent, time.monotonic() - sent

        results = await asyncio.gather(*(post(b) for b in bodies))
    return [r[0] for r in results], [r[1] for r in results]


async def bare_app(slack: Slack) -> list[float]:
    """Ack latencies of a bare slack-bolt AsyncApp whose listener does nothing."""
    client = AsyncWebClient(token=FakeSlack.BOT_TOKEN, base_url=f"{slack.slack_url}/api/")
    app = AsyncApp(client=client, signing_secret=FakeSlack.SIGNING_SECRET)

    @app.event("app_mention")
    async def ack_only() -> None:
        return None

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    runner, url = await _serve_app(web_app)
    try:
        await asyncio.to_thread(slack.burst, url, [_event(slack.channel, "1.000001", "EvBareWarm")])
        bodies = [_event(slack.channel, f"2.{i:06d}", f"EvBare{i}") for i in range(EVENTS)]
        _, acks = await asyncio.to_thread(slack.burst, url, bodies)
    finally:
        await runner.cleanup()
    return acks


async def _build(api_url: str, model_url: str, workdir: Path) -> tuple[Deps, AsyncApp]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=FakeSlack.BOT_TOKEN,  # type: ignore[arg-type]
        slack_signing_secret=FakeSlack.SIGNING_SECRET,  # type: ignore[arg-type]
        slack_api_url=api_url,
        anthropic_api_key="sk-ant-bench",  # type: ignore[arg-type]
        anthropic_base_url=model_url,
        chatops_model="claude-sonnet-4-6",
        database_url=os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}",
    )
    db = Database(make_engine(settings.database_url))
    await migrate(db)
    await seed_demo(db, now=utcnow())
    deps = Deps(
        settings=settings,
        db=db,
        store=Store(db, clock=utcnow),
        tickets=LocalTickets(db, clock=utcnow),
        llm=AnthropicLLM.from_settings(settings),
        tools=all_tools(),
    )
    deps.authorizer = await build_authorizer(deps)
    return deps, create_app(deps, agent=Agent(deps))


async def chatops(fx: Slack, workdir: Path) -> dict[str, Any]:
    """The burst against the real app; ack latencies, feedback delays, answers."""
    deps, app = await _build(f"{fx.slack_url}/api/", fx.model_url, workdir)
    surface = surface_of(deps)
    run = uuid.uuid4().hex[:8]
    runner, url = await _serve_app(build_http_app(app, deps))
    try:
        warm_ts, asked = fx.asked[0], fx.asked[1:]
        await asyncio.to_thread(fx.burst, url, [_event(fx.channel, warm_ts, f"EvWarm{run}")])
        if not await surface.tasks.join(timeout=60):
            raise RuntimeError("warm-up did not finish")
        bodies = [_event(fx.channel, ts, f"Ev{run}{i:05d}") for i, ts in enumerate(asked)]
        started = time.monotonic()
        sent, acks = await asyncio.to_thread(fx.burst, url, bodies)
        await asyncio.to_thread(fx.burst, url, bodies[:RETRIED], retry=True)  # Slack redelivers a quarter of them
        if not await surface.tasks.join(timeout=180):
            raise RuntimeError("conversations still running")
        seconds = time.monotonic() - started
    finally:
        await runner.cleanup()
        await surface.aclose()
        if deps.llm is not None:
            await deps.llm.aclose()
        deps.db.dispose()
    async with aiohttp.ClientSession() as session, session.get(f"{fx.slack_url}/_fake/calls") as resp:
        calls = await resp.json()
    sent_at = dict(zip(asked, sent, strict=True))
    feedback: dict[str, float] = {}
    answers: Counter[str] = Counter()
    for call in calls:
        args = call["args"]
        if call["method"] == "assistant.threads.setStatus" and args.get("status"):
            thread = args.get("thread_ts")
        elif call["method"] == "reactions.add":
            thread = args.get("timestamp")
        else:
            thread = None
        if thread in sent_at and thread not in feedback:
            feedback[thread] = call["at"] - sent_at[thread]
        # every answer opens a stream in its thread (or, when streaming fails, posts there)
        if call["method"] in ("chat.startStream", "chat.postMessage") and args.get("thread_ts") in sent_at:
            answers[args["thread_ts"]] += 1
    return {
        "acks": acks,
        "feedback": list(feedback.values()),
        "answered": sum(1 for ts in asked if answers.get(ts)),
        "twice": sum(1 for ts in asked if answers.get(ts, 0) > 1),
        "seconds": seconds,
        "failures": surface.tasks.failures,
    }


async def _run() -> None:
    use_worker_threads()  # as `chatops run` does
    with tempfile.TemporaryDirectory() as tmp, slack_process(EVENTS + 1) as slack:
        await bare_app(slack)  # warms up both processes' HTTP stacks; its figures are discarded
        bare = await bare_app(slack)
        result = await chatops(slack, Path(tmp))
    print(f"{EVENTS} mentions at once over signed HTTP from another process, every model call {MODEL_SECONDS:.0f} s")
    print(f"  ack, bare slack-bolt app:   {_ms(bare)}")
    print(f"  ack, chatops:               {_ms(result['acks'])}")
    print(f"  first visible feedback:     {_ms(result['feedback'])}   ({len(result['feedback'])}/{EVENTS} threads)")
    print(
        f"  answered {result['answered']}/{EVENTS}, answered twice {result['twice']} ({RETRIED} redelivered as retries); "
        f"burst done in {result['seconds']:.1f} s; failed conversations {result['failures']}"
    )
    print(f"  mean ack chatops / bare app: {statistics.fmean(result['acks']) / statistics.fmean(bare):.2f}x")


def main() -> None:
    """Run the benchmark and print its figures."""
    logging.getLogger("chatops").setLevel(logging.WARNING)
    asyncio.run(_run())


if __name__ == "__main__":
    main()
