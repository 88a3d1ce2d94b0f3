"""The approvals world, for the approvals and admin-modal tests: one bot process made of real parts.

The real Bolt app (`create_app`), the real Agent and tools, the real AnthropicLLM over HTTP to the fake Messages
API, the real Slack client against the fake Slack Web API, the policy and the local ticket store on a real
database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set). Projects: OPS (public) and SEC (private), one
ticket each (OPS-1, SEC-1). People: U0ADMIN (admin through CHATOPS_ADMINS), U0MAYA and U0LEO (members, the
default role), U0VIC (viewer).

The fake Slack workspace and the fake Messages API are the Slack-surface harness's `slack` and `model` fixtures;
`tests/integration/conftest.py` registers `approvals_world` (a seeded process, U0VIC a viewer, built by
`start_approvals_world`). Tests import the helpers they need: `from tests.approvals_world import ApprovalsWorld, ...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.agent.loop import Agent, ThreadRef
from bot.agent.types import ProgressCallback, TurnResult
from bot.deps import Deps
from bot.settings import Settings
from bot.slack.app import build_surface, create_app
from bot.slack.approval_blocks import action_id
from bot.slack.conversation import Asker, Where, answer
from bot.slack.surface import Surface
from bot.slack_api.client import close_web_client
from bot.storage.db import Database
from bot.storage.leases import Leases
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.tools.base import Actor
from bot.wiring import build_deps
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.tickets.base import NewTicket, TicketBackend
from integrations.tickets.local import LocalTickets, add_project
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, tool_use, tool_use_reply
from tests.fakes.slack_data import StoredMessage
from tests.fakes.slack_payloads import interaction
from tests.fakes.slack_server import FakeSlack

ADMIN, MAYA, LEO, VIC = "U0ADMIN", "U0MAYA", "U0LEO", "U0VIC"
TEAM = FakeSlack.TEAM_ID
CHANNEL = "C0OPS"
"""A public channel."""
DM = "D0MAYA"
"""Maya's direct message with the bot."""


def world_settings(slack: FakeSlack, model: AnthropicServer, **overrides: Any) -> Settings:
    """Settings pointing every client at the fakes; U0ADMIN is an admin through CHATOPS_ADMINS."""
    fields: dict[str, Any] = {
        "database_url": "sqlite://",  # unused: the test's Database is passed in
        "slack_bot_token": FakeSlack.BOT_TOKEN,
        "slack_signing_secret": FakeSlack.SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "anthropic_api_key": "sk-ant-test-key",
        "anthropic_base_url": model.url,
        "chatops_admins": ADMIN,
        "chatops_llm_retry_base_seconds": 0.01,
        "chatops_llm_retry_max_seconds": 0.02,
    }
    fields.update(overrides)
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


@dataclass
class ApprovalsWorld:
    """One bot process: deps, agent, the Bolt app, and the fakes it talks to."""

    deps: Deps
    agent: Agent
    surface: Surface
    """What the app's listeners share (the agent, the Slack client, lookups, background tasks)."""
    app: AsyncApp
    slack: FakeSlack
    model: AnthropicServer
    clock: FixedClock

    @property
    def store(self) -> Store:
        return self.deps.store

    async def dispatch(self, payload: dict[str, Any]) -> BoltResponse:
        """Deliver an interactive payload to the app as Socket Mode does (listeners finish before it returns)."""
        return await self.app.async_dispatch(AsyncBoltRequest(body=payload, mode="socket_mode"))

    async def ask(
        self, user: str, text: str, *, channel: str = CHANNEL, channel_kind: str | None = None, thread_ts: str | None = None
    ) -> tuple[TurnResult, ThreadRef]:
        """`user` asks in `channel` (a new thread unless `thread_ts`); the turn is answered on the production
        delivery path, `bot.slack.conversation.answer` (live progress, the reply, the approval buttons remembered),
        with who is asking and the channel's kind looked up in Slack by id. `channel_kind` is the kind the event
        states, as a DM's message event does."""
        message_ts = self.slack.post_user_message(channel, user=user, text=text, thread_ts=thread_ts)
        thread = ThreadRef(team_id=TEAM, channel_id=channel, thread_ts=thread_ts or message_ts)

        async def run(actor: Actor, progress: ProgressCallback) -> TurnResult:
            return await self.agent.run_turn(actor=actor, thread=thread, text=text, on_progress=progress)

        result = await answer(
            self.surface,
            who=Asker(user_id=user, team_id=TEAM, channel_kind=channel_kind),
            where=Where(channel=channel, thread_ts=thread.thread_ts, message_ts=message_ts),
            run=run,
        )
        assert result is not None, "the turn was not answered in its thread"
        return result, thread

    async def press(self, approval_id: str, choice: str, *, user: str, version: int = 1) -> BoltResponse:
        """`user` clicks Approve or Cancel on the message that carries this approval's buttons."""
        row = await self.store.get_approval(approval_id)
        channel = row.channel_id if row is not None else CHANNEL
        ts = (row.message_ts if row is not None else None) or "1.000001"
        return await self.dispatch(click(approval_id, choice, user=user, channel=channel, message_ts=ts, version=version))

    async def buttons_message(self, approval_id: str) -> StoredMessage:
        """The bot message (as the fake Slack stores it now) that carries or carried this approval's buttons."""
        row = await self.store.get_approval(approval_id)
        assert row is not None and row.message_ts, "the buttons message was not remembered"
        return next(m for m in self.slack.bot_messages(row.channel_id) if m.ts == row.message_ts)

    def ephemerals(self, user: str) -> list[str]:
        """Texts of ephemeral messages shown to `user`."""
        return [c.args["text"] for c in self.slack.calls("chat.postEphemeral") if c.args.get("user") == user]


COMMENT = {"key": "OPS-1", "body": "Deployed the fix <!channel> & rolled back <@U0LEO>"}


async def request_comment(world: ApprovalsWorld, *, user: str = MAYA, arguments: dict[str, Any] | None = None) -> TurnResult:
    """`user` asks for a comment on OPS-1 (`arguments`: the model's tool input) and the turn pauses for approval."""
    world.model.queue(tool_use_reply([tool_use("add_comment", arguments or COMMENT, id="toolu_comment")]))
    result, _ = await world.ask(user, "Tell OPS-1 the fix is deployed")
    assert result.status == "paused" and result.pending is not None
    return result


def click(approval_id: str, choice: str, *, user: str, channel: str = CHANNEL, message_ts: str = "1.000001", version: int = 1) -> dict[str, Any]:
    """The block_actions payload Slack sends when `user` clicks Approve or Cancel."""
    aid = action_id(choice, approval_id, version=version)  # type: ignore[arg-type]
    return {
        **interaction("block_actions", user=user, team_id=TEAM),
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": channel.lower()},
        "message": {"type": "message", "ts": message_ts, "text": "Confirm this change"},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "actions": [
            {
                "action_id": aid,
                "block_id": f"approval:{approval_id}",
                "text": {"type": "plain_text", "text": choice.capitalize()},
                "value": approval_id,
                "type": "button",
                "action_ts": "1763476400.000001",
            }
        ],
    }


async def seed_tickets(database: Database, clock: FixedClock) -> LocalTickets:
    """OPS (public) and SEC (private) with one ticket each, on the local store."""
    database.run_sync(lambda s: add_project(s, key="OPS", name="Operations", at=clock()))
    database.run_sync(lambda s: add_project(s, key="SEC", name="Security", at=clock(), private=True))
    tickets = LocalTickets(database, clock=clock)
    await tickets.create_ticket(NewTicket(project="OPS", summary="Rotate the TLS certificates"), reporter=None, via="seed")
    await tickets.create_ticket(NewTicket(project="SEC", summary="Rotate the HSM keys"), reporter=None, via="seed")
    return tickets


async def make_world(
    database: Database,
    slack: FakeSlack,
    model: AnthropicServer,
    clock: FixedClock,
    *,
    tickets: TicketBackend | None = None,
    leases: Leases | None = None,
    mcp_wait: float | None = None,
    **settings: Any,
) -> ApprovalsWorld:
    """A bot process on `database` (already migrated and seeded); call `close_world` when done. `leases`: the
    process's lease owner and length (another process on the same database has another owner)."""
    config = world_settings(slack, model, **settings)
    backend = tickets if tickets is not None else LocalTickets(database, clock=clock)
    deps = await build_deps(
        config, db=database, tickets=backend, llm=AnthropicLLM.from_config(llm_config(config)), clock=clock, leases=leases,
        mcp_wait=mcp_wait,
    )  # fmt: skip
    surface = build_surface(deps)
    app = create_app(surface, process_before_response=True)
    return ApprovalsWorld(deps=deps, agent=deps.agent, surface=surface, app=app, slack=slack, model=model, clock=clock)


async def close_world(world: ApprovalsWorld) -> None:
    """Close the world's clients (not the database: another process may still use it)."""
    if world.deps.llm is not None:
        await world.deps.llm.aclose()
    await close_web_client(world.surface.client)


async def start_approvals_world(database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock) -> ApprovalsWorld:
    """Migrate and seed `database`, build the bot process on it and assign U0VIC the viewer role; call
    `close_world` when done."""
    await migrate(database)
    await seed_tickets(database, clock)
    w = await make_world(database, slack, model, clock)
    version = await w.store.config_version()
    await w.store.apply_config(actor_id=ADMIN, expected_version=version, assignments={VIC: "viewer"})
    return w
