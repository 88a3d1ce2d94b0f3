"""The wiring: the only place that builds clients. `build_deps(settings)` is called once per process at start-up
(`chatops run`, `chatops shell`, each eval try); tests call it too, with keyword overrides for the parts they fake.

Construction order (each part gets the parts it needs, nothing is assigned afterwards):

1. the database (migrated), the store, the metrics, the tracer (OTLP when configured), the ticket backend (seeded with the demo project when it is
   the empty local store), the model client;
2. the live policy and the project catalog, then the policy bootstrap (CHATOPS_ADMINS, CHATOPS_DEFAULT_ROLE,
   CHATOPS_POLICY_FILE) and the `PolicyAuthorizer` over both;
3. the Slack client (the sanitizing `SlackClient` on SLACK_API_URL), the admin alerts, the MCP hub (started);
4. `Services` from all of the above, then the one `Agent` on those services;
5. `Deps`: the services plus the agent, the (not yet started) scheduler and the lifecycle.

The wiring sits above every layer (it imports the Slack surface only to build its client); nothing below the entry
points imports it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from enum import Enum
from typing import Literal

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.loop import Agent
from bot.alerts import AdminAlerts
from bot.authz import Authorizer
from bot.clock import Clock, utcnow
from bot.deps import Deps
from bot.lifecycle import Lifecycle
from bot.metrics import Metrics
from bot.policy.authorizer import PolicyAuthorizer
from bot.policy.bootstrap import bootstrap_policy
from bot.policy.catalog import ProjectCatalog
from bot.policy.live import LivePolicy
from bot.services import Services
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from bot.storage.leases import Leases, process_owner
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.tools.base import Tool
from bot.tools.registry import all_tools
from bot.tracing import Tracing
from integrations.llm.base import LLM
from integrations.tickets.base import TicketBackend


class Build(Enum):
    """A part `build_deps` builds from the settings unless the caller gives one."""

    FROM_SETTINGS = "from settings"


FROM_SETTINGS = Build.FROM_SETTINGS


def build_llm(settings: Settings) -> LLM | None:
    """The configured provider's model client (`CHATOPS_PROVIDER`), or None when the Anthropic API has no key
    (the caller says what to set); a provider that cannot be configured raises ConfigError naming the setting."""
    from bot.wiring_adapters import build_llm as build_provider

    return build_provider(settings)


def build_tickets(settings: Settings, db: Database, clock: Clock, metrics: Metrics | None = None) -> TicketBackend:
    """Jira when JIRA_URL is set (its failures counted in `metrics`), else the local database store."""
    if settings.ticket_backend == "jira":
        from bot.wiring_adapters import jira_tickets

        return jira_tickets(settings, on_failure=metrics.jira_failure if metrics is not None else None)
    from integrations.tickets.local import LocalTickets

    return LocalTickets(db, clock=clock, public_url=settings.chatops_public_url)


def build_tracing(settings: Settings) -> Tracing:
    """The OTLP/HTTP tracer (a batch processor: spans leave on a background thread) when an endpoint is
    configured, else the no-op one (no exporter, no thread)."""
    endpoint = settings.otlp_traces_endpoint
    if endpoint is None:
        return Tracing(None)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from bot.slack_api.outbound import mask_secrets

    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    exporter = OTLPSpanExporter(endpoint=endpoint, headers=settings.otlp_traces_headers or None)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider, content=settings.chatops_trace_content, mask=mask_secrets)


async def build_deps(
    settings: Settings,
    *,
    db: Database | None = None,
    llm: LLM | None | Literal[Build.FROM_SETTINGS] = FROM_SETTINGS,
    tickets: TicketBackend | None = None,
    tools: list[Tool] | None = None,
    authorizer: Authorizer | None = None,
    clock: Clock = utcnow,
    timer: Callable[[], float] = time.monotonic,
    slack: AsyncWebClient | None | Literal[Build.FROM_SETTINGS] = FROM_SETTINGS,
    leases: Leases | None = None,
    seed: bool = True,
    mcp_wait: float | None = None,
    tracing: Tracing | None = None,
) -> Deps:
    """Build every part once, in order (see the module docstring); migrate the database; seed the demo project when
    the local store is empty.

    Overrides (tests, evals): `db` (a database to share, e.g. one in-memory engine), `llm` (None: no model),
    `tickets` (a backend: no demo seed), `tools` (instead of the registry's), `authorizer` (instead of the
    policy's; the policy is still bootstrapped), `clock`, `timer` (the monotonic clock of the live policy's refresh
    interval), `slack` (a client, or None for no Slack: the terminal),
    `leases` (another lease owner or length), `seed` (False: never seed), `mcp_wait` (seconds to wait for the MCP
    servers at start), `tracing` (instead of the one `build_tracing(settings)` makes).
    """
    database = db if db is not None else Database(make_engine(settings.database_url))
    await migrate(database)
    store = Store(database, clock=clock)
    metrics = Metrics()
    tracer = tracing if tracing is not None else build_tracing(settings)
    backend = tickets if tickets is not None else build_tickets(settings, database, clock, metrics)
    if seed and settings.ticket_backend == "local" and tickets is None:
        from integrations.tickets.seed import seed_demo

        await seed_demo(database, now=clock())
    model = build_llm(settings) if llm is FROM_SETTINGS else llm
    builtin = tools if tools is not None else all_tools()

    live = LivePolicy(store=store, settings=settings, timer=timer)
    catalog = ProjectCatalog(tickets=backend, clock=clock)
    await bootstrap_policy(settings=settings, store=store, tools=builtin, live=live, catalog=catalog)

    if slack is FROM_SETTINGS:
        from bot.slack_api.client import build_web_client

        client: AsyncWebClient | None = build_web_client(settings, metrics=metrics)
    else:
        client = slack
    hub = None
    if settings.chatops_mcp_config is not None:
        from bot.mcp.wiring import START_WAIT_SECONDS, start_mcp

        hub = await start_mcp(
            settings,
            reserved=[t.name for t in builtin],
            live=live,
            store=store,
            slack=client,
            wait=START_WAIT_SECONDS if mcp_wait is None else mcp_wait,
        )

    services = Services(
        settings=settings,
        db=database,
        store=store,
        tickets=backend,
        llm=model,
        tools=builtin,
        live=live,
        catalog=catalog,
        authorizer=authorizer if authorizer is not None else PolicyAuthorizer(live=live, catalog=catalog),
        clock=clock,
        metrics=metrics,
        tracing=tracer,
        leases=leases or Leases(process_owner(), timedelta(seconds=settings.chatops_turn_lease_seconds)),
        slack=client,
        alerts=AdminAlerts(slack=client, store=store, admins=live.admins),
        mcp=hub,
    )
    parts = {f.name: getattr(services, f.name) for f in dataclasses.fields(Services)}
    return Deps(**parts, agent=Agent(services), scheduler=AsyncIOScheduler(timezone=UTC), lifecycle=Lifecycle())
