"""`chatops doctor` for MCP servers: connect to each configured server, list its tools with their effect class,
approval state and who may use them (by role and channel toolset), and say which tools the byte budget would leave
out of a request and why."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.checks import Check
from bot.errors import ConfigError
from bot.mcp.catalogue import spec_bytes
from bot.mcp.hub import McpHub, changed_tools
from bot.policy.decide import grant_outcome, mcp_gate
from bot.settings import environment as environ
from bot.tools.base import Actor
from integrations.mcp.client import ServerStatus
from integrations.mcp.config import McpConfigError, load_mcp_config

if TYPE_CHECKING:
    from bot.policy.model import Policy
    from bot.settings import Settings


async def mcp_report(settings: Settings, policy: Policy, *, wait: float = 20.0) -> tuple[list[Check], list[str]]:
    """One check per server (connected or why not) and the report lines (tools, grants, budget)."""
    from bot.tools.registry import all_tools

    if settings.chatops_mcp_config is None:
        return [], []
    try:
        configs = load_mcp_config(settings.chatops_mcp_config, environ())
    except McpConfigError as exc:
        return [Check("MCP configuration", False, str(exc), "fix CHATOPS_MCP_CONFIG (see README, MCP servers)")], []
    hub = McpHub(configs, default_timeout=settings.chatops_mcp_timeout_seconds, reserved=frozenset(t.name for t in all_tools()))
    hub.start()
    try:
        # Each server is reported once it is connected or its first attempt failed (it is not waited for through
        # its retries: the report says the bot keeps retrying); at most `wait` seconds for one still starting.
        await asyncio.gather(*(s.wait_for(_settled, wait) for s in hub.servers.values()))
        return _report(hub, policy, settings)
    finally:
        await hub.stop()


def _settled(status: ServerStatus) -> bool:
    return status.state == "connected" or status.last_error is not None


def _report(hub: McpHub, policy: Policy, settings: Settings) -> tuple[list[Check], list[str]]:
    checks: list[Check] = []
    lines: list[str] = []
    tools, withheld = hub.tools(policy)
    by_server: dict[str, list] = {}
    for t in tools:
        assert t.source is not None
        by_server.setdefault(t.source.server, []).append(t)
    for name, server in hub.servers.items():
        status = server.status
        where = server.config.describe()
        if status.state != "connected":
            checks.append(Check(f"MCP server {name}", False, f"not connected ({status.last_error or status.state}); {where}", "check the command or URL and headers in CHATOPS_MCP_CONFIG; the bot keeps retrying"))
            continue
        trust = policy.mcp_trust.get(name)
        state = "enabled" if trust and trust.enabled else "not enabled (an admin enables it in /chatops config)"
        checks.append(Check(f"MCP server {name}", True, f"connected, {len(status.tools)} tools, {state}; {where}"))
        changed = {d.name: what for d, what in changed_tools(policy, name, status.tools)}
        lines.append(f"MCP server {name}: tool, effect, approval, who may use it")
        for t in sorted(by_server.get(name, []), key=lambda t: t.name):
            assert t.source is not None
            roles = [r for r in policy.roles if grant_outcome(policy, r, t.policy_name, t.effect.value) != "deny"]
            gate = mcp_gate(policy, Actor(user_id="U0DOCTOR", channel_type="im"), t)
            approval = f"changed ({', '.join(changed[t.source.tool])}): withheld" if t.source.tool in changed else "approved" if gate is None else gate.reason
            offered = ", ".join(i for p, items in policy.mcp_toolsets.items() if p in (t.policy_name, f"mcp:{name}:*") for i in items) or "every channel"
            lines.append(f"  {t.name:<40} {t.effect.value:<5} {approval}; roles: {', '.join(roles) or 'none'}; offered in: {offered}; {spec_bytes(t)} bytes")
        for w in withheld:
            if w.server == name:
                lines.append(f"  {w.tool:<40} withheld: {w.reason}")
    budget = settings.chatops_mcp_tools_budget_bytes
    usable = sorted((t for t in tools if mcp_gate(policy, Actor(user_id="U0DOCTOR", channel_type="im"), t) is None), key=lambda t: t.name)
    used, left = 0, []
    for t in usable:
        size = spec_bytes(t)
        if used + size > budget:
            left.append(f"{t.name} ({size} bytes)")
        else:
            used += size
    if usable:
        lines.append(f"Catalogue: {used} of {budget} bytes of approved MCP tool definitions fit in one request (CHATOPS_MCP_TOOLS_BUDGET_BYTES).")
        if left:
            lines.append("Left out when all are granted in one channel (over the budget; bind servers to channels with mcp_toolsets): " + ", ".join(left))
    return checks, lines


async def doctor_mcp(settings: Settings) -> tuple[list[Check], list[str]]:
    """The MCP part of `chatops doctor`, under the stored policy."""
    from bot.clock import utcnow
    from bot.policy.live import state_from_snapshot
    from bot.storage.db import Database, make_engine
    from bot.storage.migrations import migrate
    from bot.storage.store import Store

    if settings.chatops_mcp_config is None:
        return [], []
    db = Database(make_engine(settings.database_url))
    try:
        await migrate(db)
        snapshot = await Store(db, clock=utcnow).load_config()
    finally:
        db.dispose()
    try:
        policy = state_from_snapshot(snapshot, settings).policy
    except ConfigError as exc:
        return [Check("Policy", False, str(exc))], []
    return await mcp_report(settings, policy)
