"""The wiring module: the only place that builds clients. `build_deps(settings)` is called once at start-up.

Tests build `Deps` with fakes or with real clients pointed at local fake servers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bot.authz import AllowAll, Authorizer
from bot.metrics import Metrics
from bot.settings import Settings
from bot.storage.db import Database, make_engine

if TYPE_CHECKING:
    from bot.mcp.hub import McpHub
    from bot.storage.store import Store
    from bot.tools.base import Tool
    from integrations.llm.base import LLM
    from integrations.tickets.base import TicketBackend


T = TypeVar("T")


def utcnow() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class Deps:
    """Everything the application needs, built once and passed down."""

    settings: Settings
    db: Database
    store: Store
    tickets: TicketBackend
    llm: LLM | None
    tools: list[Tool]
    authorizer: Authorizer = field(default_factory=AllowAll)
    clock: Callable[[], datetime] = utcnow
    slack: Any = None
    """The AsyncWebClient, when running in Slack (set by bot/slack/app.py)."""
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    """This process's Prometheus collectors (served at GET /metrics)."""
    mcp: McpHub | None = None
    """The MCP servers of CHATOPS_MCP_CONFIG (None without one)."""

    def shared(self, key: str, kind: type[T], factory: Callable[[], T]) -> T:
        """The process-wide `kind` object kept under `key` in `extras`, made by `factory` on first use."""
        value = self.extras.get(key)
        if not isinstance(value, kind):
            value = self.extras[key] = factory()
        return value

    async def aclose(self) -> None:
        """Close clients."""
        if self.mcp is not None:
            await self.mcp.stop()
        if self.llm is not None:
            await self.llm.aclose()
        await self.tickets.aclose()
        self.db.dispose()


def build_llm(settings: Settings) -> LLM | None:
    """The configured provider's model client (`CHATOPS_PROVIDER`), or None when the Anthropic API has no key
    (the caller says what to set); a provider that cannot be configured raises ConfigError naming the setting."""
    from bot.wiring_adapters import build_llm as build_provider

    return build_provider(settings)


def build_tickets(
    settings: Settings, db: Database, clock: Callable[[], datetime], metrics: Metrics | None = None
) -> TicketBackend:
    """Jira when JIRA_URL is set (its failures counted in `metrics`), else the local database store."""
    if settings.ticket_backend == "jira":
        from bot.wiring_adapters import jira_tickets

        return jira_tickets(settings, on_failure=metrics.jira_failure if metrics is not None else None)
    from integrations.tickets.local import LocalTickets

    return LocalTickets(db, clock=clock, public_url=settings.chatops_public_url)


async def build_deps(
    settings: Settings,
    *,
    llm: LLM | None = None,
    tickets: TicketBackend | None = None,
    clock: Callable[[], datetime] = utcnow,
    seed: bool = True,
) -> Deps:
    """Build every client once; migrate the database; seed the demo project when the local store is empty."""
    from bot.policy.authorizer import build_authorizer
    from bot.storage.migrations import migrate
    from bot.storage.store import Store
    from bot.tools.registry import all_tools

    db = Database(make_engine(settings.database_url))
    await migrate(db)
    store = Store(db, clock=clock)
    metrics = Metrics()
    backend = tickets if tickets is not None else build_tickets(settings, db, clock, metrics)
    if seed and settings.ticket_backend == "local" and tickets is None:
        from integrations.tickets.seed import seed_demo

        await seed_demo(db, now=clock())
    deps = Deps(
        settings=settings,
        db=db,
        store=store,
        tickets=backend,
        llm=llm if llm is not None else build_llm(settings),
        tools=all_tools(),
        clock=clock,
        metrics=metrics,
    )
    deps.authorizer = await build_authorizer(deps)
    if settings.chatops_mcp_config is not None:
        from bot.mcp.wiring import start_mcp

        await start_mcp(deps)
    return deps
