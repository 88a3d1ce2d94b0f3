"""Start the MCP servers of CHATOPS_MCP_CONFIG for a `Deps` (called by `build_deps`), and tell admins when an
approved tool changes: a log line always, an audit row and a Slack DM to each CHATOPS_ADMINS once across
processes (the audit log's unique key decides which process tells)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from bot.logs import get_logger, log_event
from bot.mcp.hub import McpHub
from bot.mcp.trust import admin_ids
from bot.settings import environment as environ
from integrations.mcp.config import McpConfigError, load_mcp_config
from integrations.mcp.tools import ToolDef

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.policy.model import Policy

logger = get_logger("mcp")

START_WAIT_SECONDS = 15.0
"""How long start-up waits for the servers to connect before going on without the slow ones."""


def load_hub(deps: Deps) -> McpHub:
    """The hub for the configured servers; ConfigError (one message naming server and problem) for a bad file."""
    path = deps.settings.chatops_mcp_config
    assert path is not None
    try:
        configs = load_mcp_config(path, environ())
    except McpConfigError as exc:
        raise ConfigError(str(exc)) from None
    return McpHub(configs, default_timeout=deps.settings.chatops_mcp_timeout_seconds, reserved=frozenset(t.name for t in deps.tools))


async def start_mcp(deps: Deps, *, wait: float = START_WAIT_SECONDS) -> McpHub:
    """Build, wire and start the hub; wait up to `wait` seconds for the servers (the rest connect later)."""
    from bot.policy.live import live_policy

    hub = load_hub(deps)

    async def policy() -> Policy:
        return (await live_policy(deps).current()).policy

    async def changed(server: str, d: ToolDef, what: list[str]) -> None:
        await tell_admins(deps, server, d, what)

    hub.policy = policy
    hub.on_change = changed
    deps.mcp = hub
    hub.start()
    if wait > 0 and not await hub.wait_connected(wait):
        for status in hub.statuses():
            if status.state != "connected":
                log_event(logger, "mcp server not connected at start; retrying in the background", level=logging.WARNING, server=status.name, error=status.last_error)
    return hub


async def tell_admins(deps: Deps, server: str, d: ToolDef, what: list[str]) -> None:
    """Audit the change once across processes and DM the admins (when running in Slack)."""
    key = f"mcp-changed:{server}:{d.name}:{d.fingerprint}"
    claimed = await deps.store.claim_write(
        key=key,
        user_id="mcp",
        tool=f"mcp:{server}:{d.name}"[:64],
        target=server,
        conversation_id=None,
        tool_use_id=None,
        details={"changed": what, "fingerprint": d.fingerprint},
    )
    if not claimed or deps.slack is None:
        return
    from bot.slack.markdown import escape_mrkdwn, neutralize_broadcasts, redact_secrets

    text = neutralize_broadcasts(redact_secrets(escape_mrkdwn(
        f"MCP tool {d.name} on server {server} changed ({', '.join(what)}) since it was approved. "
        "It is withheld until an admin reviews it: /chatops config → MCP servers → Approve changes."
    )))
    for admin in admin_ids(deps):
        try:
            await deps.slack.chat_postMessage(channel=admin, text=text)
        except Exception:
            logger.warning("could not DM admin %s about a changed MCP tool", admin, exc_info=True)
