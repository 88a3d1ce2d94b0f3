"""The agent harness (no tests here): the real Agent, the real AnthropicLLM over HTTP to the fake
Messages API, a real migrated database, and small test tools that record what they were asked to do.

`tests/conftest.py` registers `server` (the fake Messages API) and `tests/unit/conftest.py` `harness` (`make_harness`
with the defaults); tests import the helpers they need from here.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any

from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient
from pydantic import BaseModel, Field

from bot.agent.loop import Agent, ThreadRef
from bot.agent.types import ProgressEvent, TurnResult
from bot.authz import ALLOW, Decision, Outcome
from bot.deps import Deps
from bot.errors import NotFound
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.store import Store
from bot.tools.base import Actor, Effect, Tool, ToolArgs, ToolContext, tool
from bot.wiring import build_deps
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.tickets.local import LocalTickets
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer

SSL_CONTEXT = ssl.create_default_context()
"""Loading the CA bundle costs 30-150 ms per client; the fake is plain HTTP, so all test clients share one."""

ALICE = Actor(user_id="U0ALICE", team_id="T01", channel_id="C01", channel_type="public", name="Alice Example")
THREAD = ThreadRef(team_id="T01", channel_id="C01", thread_ts="1700000000.000100")


class KeyArgs(ToolArgs):
    key: str = Field(pattern=r"^[A-Z][A-Z0-9]+-\d+$")
    """A ticket key like OPS-12."""


class SearchArgs(ToolArgs):
    text: str
    """Words to look for."""
    limit: int = Field(default=10, ge=1, le=50)
    """How many tickets at most."""


class CommentArgs(ToolArgs):
    key: str = Field(pattern=r"^[A-Z][A-Z0-9]+-\d+$")
    """The ticket key."""
    body: str = Field(min_length=1)
    """The comment text."""


class LoginArgs(ToolArgs):
    user: str
    """A user name."""
    password: str
    """A secret."""


@dataclass
class Recorder:
    """What the test tools did, in order; hooks let a test hold a tool at a point."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    contexts: list[ToolContext] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    active: int = 0
    peak: int = 0
    crowd: int = 0
    """When > 0, reads of `crowd_read` wait until this many run at once (proof of concurrency)."""
    crowd_ready: asyncio.Event | None = None

    def gate(self, name: str) -> asyncio.Event:
        """An event a tool named `name` waits for (created on first use)."""
        return self.gates.setdefault(name, asyncio.Event())


def build_tools(rec: Recorder) -> list[Tool]:
    """A small tool set: reads, writes, failing, slow and secret-taking tools."""

    @tool(name="get_ticket", effect=Effect.READ, args=KeyArgs, ticket_key_fields=("key",))
    async def get_ticket(ctx: ToolContext, args: KeyArgs) -> dict[str, Any]:
        """Fetch one ticket by key."""
        rec.calls.append(("get_ticket", args.model_dump()))
        rec.contexts.append(ctx)
        rec.events.append(f"read:{args.key}")
        if args.key.endswith("-404"):
            raise NotFound(f"No ticket {args.key!r}.")
        return {"key": args.key, "summary": f"Summary of {args.key}", "assignee": None, "labels": []}

    @tool(name="search_tickets", effect=Effect.READ, args=SearchArgs)
    async def search_tickets(ctx: ToolContext, args: SearchArgs) -> list[dict[str, Any]]:
        """Search tickets by text."""
        rec.calls.append(("search_tickets", args.model_dump()))
        return [{"key": f"OPS-{i}", "summary": f"{args.text} {i}"} for i in range(1, min(args.limit, 3) + 1)]

    @tool(name="crowd_read", effect=Effect.READ, args=KeyArgs)
    async def crowd_read(ctx: ToolContext, args: KeyArgs) -> str:
        """A read that records how many reads run at once."""
        rec.calls.append(("crowd_read", args.model_dump()))
        rec.active += 1
        rec.peak = max(rec.peak, rec.active)
        rec.events.append(f"start:{args.key}")
        if rec.crowd and rec.crowd_ready is not None:
            if rec.active >= rec.crowd:
                rec.crowd_ready.set()
            await rec.crowd_ready.wait()
        await asyncio.sleep(0)
        rec.active -= 1
        rec.events.append(f"end:{args.key}")
        return f"read {args.key}"

    @tool(name="add_comment", effect=Effect.WRITE, args=CommentArgs, ticket_key_fields=("key",))
    async def add_comment(ctx: ToolContext, args: CommentArgs) -> dict[str, Any]:
        """Add a comment to a ticket."""
        rec.calls.append(("add_comment", args.model_dump()))
        rec.events.append(f"write-start:{args.body}")
        await asyncio.sleep(0)
        rec.events.append(f"write-end:{args.body}")
        return {"id": str(len(rec.calls)), "key": args.key, "body": args.body}

    @tool(name="flaky_lookup", effect=Effect.READ, args=KeyArgs)
    async def flaky_lookup(ctx: ToolContext, args: KeyArgs) -> str:
        """A read whose backend is down."""
        rec.calls.append(("flaky_lookup", args.model_dump()))
        from bot.errors import Unavailable

        raise Unavailable("The ticket system did not answer (HTTP 503).")

    @tool(name="slow_lookup", effect=Effect.READ, args=KeyArgs)
    async def slow_lookup(ctx: ToolContext, args: KeyArgs) -> str:
        """A read that hangs until its gate opens."""
        rec.calls.append(("slow_lookup", args.model_dump()))
        await rec.gate("slow_lookup").wait()
        return "finally"

    @tool(name="big_read", effect=Effect.READ, args=KeyArgs)
    async def big_read(ctx: ToolContext, args: KeyArgs) -> dict[str, Any]:
        """A read returning a very large result."""
        rec.calls.append(("big_read", args.model_dump()))
        return {"key": args.key, "description": "x" * 50_000}

    @tool(name="login", effect=Effect.READ, args=LoginArgs)
    async def login(ctx: ToolContext, args: LoginArgs) -> str:
        """A tool that takes a secret."""
        rec.calls.append(("login", {"user": args.user}))
        return "logged in"

    return [get_ticket, search_tickets, crowd_read, add_comment, flaky_lookup, slow_lookup, big_read, login]


class ScriptedAuthorizer:
    """A test Authorizer: per-tool outcomes, records every authorize() call."""

    def __init__(self, outcomes: dict[str, Outcome] | None = None, *, hidden: set[str] | None = None) -> None:
        self.outcomes = outcomes or {}
        self.hidden = hidden or set()
        self.calls: list[tuple[str, dict[str, Any], str]] = []

    async def offered_tools(self, actor: Actor, tools: list[Tool]) -> list[Tool]:
        """All tools but the hidden ones."""
        return [t for t in tools if t.name not in self.hidden]

    async def visible_projects(self, actor: Actor) -> frozenset[str] | None:
        """Only OPS."""
        return frozenset({"OPS"})

    async def authorize(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> Decision:
        """The scripted outcome (allow by default)."""
        self.calls.append((tool.name, args.model_dump(), ctx.actor.user_id))
        outcome = self.outcomes.get(tool.name, "allow")
        if outcome == "allow":
            return ALLOW
        return Decision(outcome, f"test says {outcome}", "test-rule")


@dataclass
class Harness:
    """The agent under test and everything around it."""

    agent: Agent
    deps: Deps
    server: AnthropicServer
    rec: Recorder
    authz: ScriptedAuthorizer
    clock: FixedClock
    progress: list[ProgressEvent] = field(default_factory=list)

    async def ask(self, text: str = "What is OPS-1?", *, actor: Actor = ALICE, thread: ThreadRef = THREAD, **kw: Any) -> TurnResult:
        """One turn, collecting progress events."""

        async def on_progress(event: ProgressEvent) -> None:
            self.progress.append(event)

        kw.setdefault("on_progress", on_progress)
        return await self.agent.run_turn(actor=actor, thread=thread, text=text, **kw)

    @property
    def store(self) -> Store:
        """The store."""
        return self.deps.store

    def new_agent(self) -> Agent:
        """A fresh Agent on the same deps (as after a restart)."""
        return Agent(self.deps)


def aimed_settings(settings: Settings, server: AnthropicServer, **overrides: Any) -> Settings:
    """Fixture settings aimed at the fake server."""
    update = {"anthropic_base_url": server.url, "chatops_model": "claude-sonnet-4-6", **overrides}
    return settings.model_copy(update=update)


def fake_client(s: Settings) -> AsyncAnthropic:
    """The client `from_config` would build (SDK retries off, our timeout), sharing the SSL context."""
    http = DefaultAsyncHttpxClient(verify=SSL_CONTEXT, timeout=s.chatops_llm_timeout_seconds)
    return AsyncAnthropic(api_key="sk-ant-test-key", base_url=s.anthropic_base_url, max_retries=0, timeout=s.chatops_llm_timeout_seconds, http_client=http)




async def make_harness(
    settings: Settings,
    database: Database,
    server: AnthropicServer,
    clock: FixedClock,
    *,
    authz: ScriptedAuthorizer | None = None,
    extra_tools: tuple[Tool, ...] = (),
    **overrides: Any,
) -> Harness:
    """Build a harness with settings overrides (and real tools from bot/tools added to the test tools)."""
    s = aimed_settings(settings, server, **overrides)
    rec = Recorder()
    authorizer = authz or ScriptedAuthorizer()
    deps = await build_deps(
        s,
        db=database,
        tickets=LocalTickets(database, clock=clock),
        llm=AnthropicLLM.from_config(llm_config(s), client=fake_client(s)),
        tools=[*build_tools(rec), *extra_tools],
        authorizer=authorizer,
        clock=clock,
        slack=None,
    )
    return Harness(agent=deps.agent, deps=deps, server=server, rec=rec, authz=authorizer, clock=clock)

