"""The Slack-surface harness (no tests here): the real Bolt app built by `create_app`, the real
Agent, tools, policy and local ticket store on a real database, the real AnthropicLLM over HTTP to the fake
Messages API, and the real AsyncWebClient over HTTP to the fake Slack Web API.

Requests reach the app the two ways Slack sends them: signed HTTP POSTs to `POST /slack/events` served by
`build_http_app` (HTTP mode), or `AsyncBoltRequest(mode="socket_mode")` through `app.async_dispatch` (the Socket
Mode request path). Tests wait on events (`bot.settle()`, the fakes' `await_*`), never on sleeps.

`tests/integration/conftest.py` registers the fixtures built from these pieces: `slack` (`fake_workspace`), `model`,
`bot` and `sqlite_bot` (`start_bot`), `seeded_sqlite_file` (`seed_template`), `seeded_sqlite` and `socket_bot`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.loop import Agent
from bot.deps import Deps
from bot.settings import Settings
from bot.slack.app import build_surface, create_app
from bot.slack.progress import LiveProgress
from bot.slack.server import build_http_app
from bot.slack.surface import Surface
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate
from bot.wiring import build_deps
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.tickets.seed import seed_demo
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.slack_payloads import event_callback, form_body, interactive_body, signed_headers
from tests.fakes.slack_server import FakeSlack

ALICE = "U0ALICE"
BOB = "U0BOB"
OPS_CHANNEL = "C0OPS"
PRIVATE_CHANNEL = "C0PRIV"
ALICE_DM = "D0ALICE"
MENTION = f"<@{FakeSlack.BOT_USER_ID}>"


@dataclass
class SlackBot:
    """The app under test and the fakes around it."""

    slack: FakeSlack
    model: AnthropicServer
    deps: Deps
    agent: Agent
    app: AsyncApp
    surface: Surface
    url: str
    session: aiohttp.ClientSession

    # ---------------------------------------------------------------- HTTP mode
    async def post(self, body: str, headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        """POST a raw body to /slack/events; returns (status, text, headers)."""
        async with self.session.post(f"{self.url}/slack/events", data=body.encode(), headers=headers) as resp:
            return resp.status, await resp.text(), dict(resp.headers)

    async def send_event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None) -> int:
        """Deliver an Events API event over signed HTTP; returns the HTTP status."""
        body = json.dumps(event_callback(event, event_id=event_id))
        headers = signed_headers(body)
        if retry is not None:
            headers.update({"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"})
        status, _, _ = await self.post(body, headers)
        return status

    async def send_command(self, fields: dict[str, str]) -> tuple[int, str]:
        """Deliver a slash command over signed HTTP; returns (status, response body)."""
        body = form_body(fields)
        status, text, _ = await self.post(body, signed_headers(body, content_type="application/x-www-form-urlencoded"))
        return status, text

    async def send_interactive(self, payload: dict[str, Any]) -> int:
        """Deliver a shortcut / block action over signed HTTP; returns the HTTP status."""
        body = interactive_body(payload)
        status, _, _ = await self.post(body, signed_headers(body, content_type="application/x-www-form-urlencoded"))
        return status

    # ---------------------------------------------------------------- Socket Mode request path
    async def dispatch(self, body: dict[str, Any], *, retry: int | None = None) -> BoltResponse:
        """Deliver a payload the way Bolt's Socket Mode adapter does."""
        headers = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "timeout"} if retry is not None else None
        return await self.app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode", headers=headers))

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until every background conversation has finished."""
        assert await self.surface.tasks.join(timeout=timeout), "conversations still running"
        assert self.surface.tasks.failures == 0


def fake_workspace() -> FakeSlack:
    """The fake Slack Web API (not started: use it as a context manager) with the one workspace every world runs in: #ops (public), #secret (private), #random
    (public, the bot not a member), DMs with Alice, Maya and the admin; Alice and Bob (the Slack-surface tests),
    Ada the admin, Maya, Leo, Vic (the approvals world), Jonas (the schedules world) and another app's bot user."""
    server = FakeSlack()
    server.add_channel(OPS_CHANNEL, name="ops")
    server.add_channel(PRIVATE_CHANNEL, name="secret", kind="private")
    server.add_channel("C0NOTIN", name="random", member=False)
    server.add_channel(ALICE_DM, name=ALICE_DM, kind="im", user=ALICE)
    server.add_channel("D0MAYA", kind="im", user="U0MAYA")
    server.add_channel("D0ADMIN", kind="im", user="U0ADMIN")
    server.add_user(ALICE, name="Alice Example", email="alice@example.com")
    server.add_user(BOB, name="Bob Builder", email="bob@example.com")
    for user, name in (("U0ADMIN", "Ada Admin"), ("U0MAYA", "Maya Chen"), ("U0LEO", "Leo Park"), ("U0VIC", "Vic Viewer")):
        server.add_user(user, name=name, email=f"{name.split()[0].lower()}@example.com")
    server.add_user("U0JONAS", name="Jonas Weber", email="jonas@example.com")
    server.add_user("U0ROBOT", name="Some Bot", is_bot=True)
    return server


def bot_settings(slack: FakeSlack, model: AnthropicServer, **overrides: Any) -> Settings:
    """Settings pointing every client at the fakes."""
    values: dict[str, Any] = {
        "slack_bot_token": FakeSlack.BOT_TOKEN,
        "slack_signing_secret": FakeSlack.SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "anthropic_api_key": "sk-ant-test-key",
        "anthropic_base_url": model.url,
        "chatops_llm_retry_base_seconds": 0.01,
        "chatops_llm_retry_max_seconds": 0.05,
        "chatops_admins": [ALICE],
        "chatops_model": "claude-sonnet-4-6",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def start_bot(
    slack: FakeSlack, model: AnthropicServer, database: Database, clock: FixedClock, **overrides: Any
) -> AsyncIterator[SlackBot]:
    """Build the whole app on `database` and serve it over HTTP on an ephemeral port."""
    settings = bot_settings(slack, model, **overrides)
    deps = await build_deps(settings, db=database, llm=AnthropicLLM.from_config(llm_config(settings)), clock=clock)
    surface = build_surface(deps)
    app = create_app(surface)
    runner = web.AppRunner(build_http_app(app, deps), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as session:
        harness = SlackBot(
            slack=slack,
            model=model,
            deps=deps,
            agent=deps.agent,
            app=app,
            surface=surface,
            url=f"http://127.0.0.1:{port}",
            session=session,
        )
        try:
            yield harness
        finally:
            await harness.surface.tasks.join(timeout=10)
            await harness.surface.aclose()
            await runner.cleanup()
            if deps.llm is not None:
                await deps.llm.aclose()


def seed_template(path: Path) -> Path:
    """Make `path` a migrated SQLite database with the demo project (made once; tests get a copy: seeding takes
    ~0.4 s)."""
    db = Database(make_engine(f"sqlite:///{path}"))

    async def _prepare() -> None:
        await migrate(db)
        await seed_demo(db, now=FixedClock()())

    asyncio.run(_prepare())
    db.dispose()  # closes the last connection: the WAL is checkpointed into the file
    return path


def live_progress(client: AsyncWebClient, slack: FakeSlack, *, user: str = ALICE) -> tuple[LiveProgress, str]:
    """A question `user` asks in #ops, and the live progress of the turn answering it; returns (progress, its ts)."""
    asked = slack.post_user_message(OPS_CHANNEL, user=user, text="@chatops what is OPS-1?")
    progress = LiveProgress(client, channel=OPS_CHANNEL, thread_ts=asked, user_id=user, team_id=FakeSlack.TEAM_ID, message_ts=asked)
    return progress, asked
