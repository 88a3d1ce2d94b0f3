"""What admins decide about MCP servers, stored in the policy's `mcp_trust` (config table, audited, versioned: every
process applies it on its next request).

Enabling a server approves the tools it lists at that moment: each tool's fingerprint and definition are stored,
so a restart never re-trusts a tool that changed meanwhile. `approve` re-approves the current listing after a
change; `set_tool` switches one tool on or off; `disable` switches the whole server off (its approvals stay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.errors import ConfigError, Conflict
from bot.mcp.hub import McpHub, approved_definitions
from bot.messages import admin as admin_text
from bot.policy.live import POLICY_PREFIX, LivePolicy

if TYPE_CHECKING:
    from bot.storage.store import Store

Action = Literal["enable", "disable", "approve", "tool_on", "tool_off"]
KEY = f"{POLICY_PREFIX}mcp_trust"
_ATTEMPTS = 5


class TrustParts(Protocol):
    """What changing the trust needs: the hub (what the servers list now), the live policy and the store."""

    @property
    def mcp(self) -> McpHub | None: ...
    @property
    def live(self) -> LivePolicy: ...
    @property
    def store(self) -> Store: ...


async def change_trust(deps: TrustParts, *, actor_id: str, server: str, action: Action, tool: str | None = None) -> str:
    """Apply one admin decision; returns what was done, in words. Raises ConfigError when it cannot apply."""
    hub = deps.mcp
    if hub is None or server not in hub.servers:
        raise ConfigError(admin_text.mcp_no_server(server))
    status = hub.servers[server].status
    for _ in range(_ATTEMPTS):
        state = await deps.live.current()
        trust: dict[str, Any] = {name: t.model_dump(mode="json") for name, t in state.policy.mcp_trust.items()}
        entry: dict[str, Any] = trust.setdefault(server, {"enabled": False, "tools": {}})
        if action in ("enable", "approve"):
            if status.state != "connected":
                raise ConfigError(admin_text.mcp_not_connected(server, status.last_error or status.state))
            kept = {name: t.get("enabled", True) for name, t in entry["tools"].items()}
            entry["tools"] = {
                name: {**definition, "enabled": kept.get(name, True)} for name, definition in approved_definitions(status.tools).items()
            }
            entry["enabled"] = True
            done = (
                admin_text.mcp_enabled(server, len(status.tools))
                if action == "enable"
                else admin_text.mcp_approved(server, len(status.tools))
            )
        elif action == "disable":
            entry["enabled"] = False
            done = admin_text.mcp_disabled(server)
        else:
            if tool is None or tool not in entry["tools"]:
                raise ConfigError(admin_text.mcp_unknown_tool(server, tool))
            entry["tools"][tool]["enabled"] = action == "tool_on"
            done = admin_text.mcp_tool_switched(server, tool, action == "tool_on")
        try:
            await deps.store.apply_config(actor_id=actor_id, expected_version=state.version, values={KEY: trust})
            return done
        except Conflict:
            continue
    raise ConfigError(admin_text.mcp_config_busy())
