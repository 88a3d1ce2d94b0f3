"""`Services`: the parts of a process the agent runs on — clients, storage, policy — built once by the wiring.

`bot.wiring.build_deps` builds these parts in order (database, store, tickets, model, policy, MCP hub, Slack client)
and then the `Agent` on them; `bot.deps.Deps` is these same parts plus what is built on top of them (the one
Agent, the scheduler, the process's lifecycle). Everything below the surfaces takes `Services` (or, for tools,
the narrower `bot.tools.base.ToolServices`), never `Deps`: the agent cannot reach itself, tools cannot reach the
agent or the authorizer. Frozen: nothing is swapped after construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import AdminAlerts
from bot.authz import Authorizer
from bot.clock import Clock
from bot.mcp.hub import McpHub
from bot.metrics import Metrics
from bot.policy.catalog import ProjectCatalog
from bot.policy.live import LivePolicy
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.leases import Leases
from bot.storage.store import Store
from bot.tools.base import Tool
from bot.tracing import Tracing
from integrations.llm.base import LLM
from integrations.tickets.base import TicketBackend


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything the agent, the policy and the tools use, built once per process."""

    settings: Settings
    db: Database
    store: Store
    tickets: TicketBackend
    llm: LLM | None
    """The model client (None when the Anthropic API has no key: the caller says what to set)."""
    tools: list[Tool]
    """The built-in tools (MCP tools come from `mcp` per request)."""
    live: LivePolicy
    """The current policy, roles and setting overrides (reloaded when the configuration version moves)."""
    catalog: ProjectCatalog
    """The ticket system's projects (known, public), cached."""
    authorizer: Authorizer
    clock: Clock
    metrics: Metrics
    """This process's Prometheus collectors (served at GET /metrics)."""
    tracing: Tracing
    """This process's OpenTelemetry tracer (a no-op one unless an OTLP endpoint is configured)."""
    leases: Leases
    """Who this process is as a lease owner, and how long its claims hold."""
    slack: AsyncWebClient | None
    """The sanitizing Slack Web API client (`bot.slack_api.client.SlackClient`); None in the terminal and evals."""
    alerts: AdminAlerts
    """Telling the admins about a misconfiguration (by DM; nobody to tell without `slack`)."""
    mcp: McpHub | None = None
    """The MCP servers of CHATOPS_MCP_CONFIG (None without one)."""

    def require_slack(self) -> AsyncWebClient:
        """The Slack client, for work that only runs in Slack (schedules); RuntimeError in a process without one."""
        if self.slack is None:
            raise RuntimeError("this process has no Slack client (the terminal or an eval)")
        return self.slack
