"""`McpHub`: the process's MCP servers (one supervised `McpServer` each) and the tools built from their listings.

Built by `bot/deps.py` from CHATOPS_MCP_CONFIG and started there: servers connect in the background, so a server
that is down never delays or stops the bot. Every listing (at connect, on a change announcement, on the periodic
re-list, before a turn uses a server that does not announce changes) is compared with the fingerprints admins
approved; a tool whose definition changed is withheld by the policy (`mcp_gate`) and the admins are told, once
across processes (the audit log's unique key), what changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.logs import get_logger, log_event
from bot.mcp.tools import Withheld, build_tools
from bot.tools.base import Tool, ToolSource
from integrations.mcp.config import ServerConfig
from integrations.mcp.tools import CallOutcome, ToolDef, changes

if TYPE_CHECKING:
    from bot.policy.model import Policy
    from integrations.mcp.client import McpServer, ServerStatus

logger = get_logger("mcp")

ChangeListener = Callable[[str, ToolDef, list[str]], Awaitable[None]]


class McpHub:
    """All configured servers of this process."""

    def __init__(self, configs: list[ServerConfig], *, default_timeout: float, reserved: frozenset[str] = frozenset()) -> None:
        from integrations.mcp.client import McpServer  # the MCP SDK: loaded only when servers are configured

        self.servers: dict[str, McpServer] = {
            c.name: McpServer(c, default_timeout=default_timeout, on_tools=self._listed) for c in configs
        }
        self.reserved = reserved
        """Built-in tool names an MCP tool may not take."""
        self._built: dict[tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]], tuple[list[Tool], list[Withheld]]] = {}
        self.policy: Callable[[], Awaitable[Policy]] | None = None
        """Where the hub reads the current policy (approved fingerprints) when a listing changes."""
        self.on_change: ChangeListener | None = None
        """Told about each approved tool whose definition changed (server, new definition, what changed)."""
        self._reported: set[tuple[str, str, str]] = set()

    def start(self) -> None:
        """Start every server's supervisor (connections are made in the background)."""
        for server in self.servers.values():
            server.start()

    async def stop(self) -> None:
        """Disconnect every server (at once: each may take a moment to exit)."""
        await asyncio.gather(*(server.stop() for server in self.servers.values()))

    async def wait_connected(self, timeout: float) -> bool:
        """Wait until every server is connected (start-up, tests, doctor); False if one is not after `timeout`."""
        results = await asyncio.gather(*(s.wait_connected(timeout=timeout) for s in self.servers.values()))
        return all(results)

    def statuses(self) -> list[ServerStatus]:
        """Each server's state, tools and last error."""
        return [s.status for s in self.servers.values()]

    # ---------------------------------------------------------------- tools

    async def before_turn(self, *, timeout: float = 5.0) -> None:
        """Re-list the connected servers that do not announce changes, so a changed tool is noticed before use."""
        stale = [s for s in self.servers.values() if s.status.state == "connected" and not s.status.notifies]
        if not stale:
            return
        try:
            await asyncio.wait_for(asyncio.gather(*(s.refresh() for s in stale)), timeout)
        except TimeoutError:
            log_event(logger, "mcp re-list before the turn timed out; using the last listing", level=logging.WARNING)

    def tools(self, policy: Policy) -> tuple[list[Tool], list[Withheld]]:
        """The tools of every connected server as listed now (effects from the policy), and those withheld."""
        tools: list[Tool] = []
        withheld: list[Withheld] = []
        for name, server in self.servers.items():
            status = server.status
            if status.state != "connected" or not status.tools:
                continue
            effects = {d.name: e for d in status.tools if (e := policy.mcp_effect(f"mcp:{name}:{d.name}"))}
            key = (name, tuple(sorted(effects.items())), tuple((d.name, d.fingerprint) for d in status.tools))
            built = self._built.get(key)
            if built is None:
                built = build_tools(name, status.tools, effects=effects, reserved=self.reserved)
                for w in built[1]:
                    log_event(logger, "mcp tool withheld", level=logging.WARNING, server=w.server, tool=w.tool, reason=w.reason)
                self._built = {k: v for k, v in self._built.items() if k[0] != name}
                self._built[key] = built
            tools += built[0]
            withheld += built[1]
        return tools, withheld

    def listed(self, server: str, tool: str) -> ToolDef | None:
        """The tool's definition as its server listed it last."""
        handle = self.servers.get(server)
        if handle is None:
            return None
        return next((d for d in handle.status.tools if d.name == tool), None)

    async def call(self, source: ToolSource, arguments: dict[str, Any]) -> CallOutcome:
        """Call a tool, provided its server still lists it exactly as it was when the policy allowed it."""
        from integrations.mcp.client import McpCallError

        current = self.listed(source.server, source.tool)
        if current is None:
            raise McpCallError(f"{source.server} no longer lists {source.tool}.", kind="changed")
        if current.fingerprint != source.fingerprint:
            raise McpCallError(f"{source.tool} changed on {source.server}; it is withheld until an admin re-approves it.", kind="changed")
        return await self.servers[source.server].call(source.tool, arguments)

    # ---------------------------------------------------------------- change detection

    async def _listed(self, server: str, defs: tuple[ToolDef, ...]) -> None:
        if self.policy is None:
            return
        try:
            policy = await self.policy()
        except Exception:
            logger.exception("mcp: could not read the policy to compare a new listing")
            return
        for d, what in changed_tools(policy, server, defs):
            key = (server, d.name, d.fingerprint)
            if key in self._reported:
                continue
            self._reported.add(key)
            log_event(logger, "mcp tool changed since approval; withheld until an admin re-approves it", level=logging.WARNING, server=server, tool=d.name, changed=", ".join(what))
            if self.on_change is not None:
                try:
                    await self.on_change(server, d, what)
                except Exception:
                    logger.exception("mcp: telling the admins about a changed tool failed")


def changed_tools(policy: Policy, server: str, defs: tuple[ToolDef, ...]) -> list[tuple[ToolDef, list[str]]]:
    """Approved tools of an enabled server whose listed definition differs from the approved one, and how."""
    trust = policy.mcp_trust.get(server)
    if trust is None or not trust.enabled:
        return []
    out: list[tuple[ToolDef, list[str]]] = []
    for d in defs:
        approved = trust.tools.get(d.name)
        if approved is not None and approved.fingerprint != d.fingerprint:
            out.append((d, changes(dict(approved.definition), d.definition()) or ["definition"]))
    return out


def approved_definitions(defs: tuple[ToolDef, ...]) -> Mapping[str, dict[str, Any]]:
    """What an admin approves: each tool's fingerprint and definition, by its listed name."""
    return {d.name: {"fingerprint": d.fingerprint, "enabled": True, "definition": d.definition()} for d in defs}
