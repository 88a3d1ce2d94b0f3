"""Start the MCP servers of CHATOPS_MCP_CONFIG (called by `bot.wiring.build_deps`, which holds the hub in
`Deps.mcp`), and tell admins when an approved tool changes: a log line always, an audit row and a Slack DM to each CHATOPS_ADMINS once across
processes (the audit log's unique key decides which process tells)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from bot.logs import get_logger, log_event
from bot.mcp.hub import McpHub
from bot.messages import admin as admin_text
from bot.settings import environment as environ
from integrations.mcp.config import McpConfigError, load_mcp_config
from integrations.mcp.tools import ToolDef

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.policy.live import LivePolicy
    from bot.policy.model import Policy
    from bot.settings import Settings
    from bot.storage.store import Store

logger = get_logger("mcp")

START_WAIT_SECONDS = 15.0
"""How long start-up waits for the servers to connect before going on without the slow ones."""


def load_hub(settings: Settings, *, reserved: Iterable[str]) -> McpHub:
    """The hub for the configured servers (`reserved`: the built-in tool names); ConfigError (one message naming
    server and problem) for a bad file."""
    path = settings.chatops_mcp_config
    assert path is not None
    try:
        configs = load_mcp_config(path, environ())
    except McpConfigError as exc:
        raise ConfigError(str(exc)) from None
    return McpHub(configs, default_timeout=settings.chatops_mcp_timeout_seconds, reserved=frozenset(reserved))


async def start_mcp(
    settings: Settings,
    *,
    reserved: Iterable[str],
    live: LivePolicy,
    store: Store,
    slack: AsyncWebClient | None,
    wait: float = START_WAIT_SECONDS,
) -> McpHub:
    """Build, wire and start the hub; wait up to `wait` seconds for the servers (the rest connect later)."""
    hub = load_hub(settings, reserved=reserved)
    admins = list(settings.chatops_admins)

    async def policy() -> Policy:
        return (await live.current()).policy

    async def changed(server: str, d: ToolDef, what: list[str]) -> None:
        await tell_admins(store, slack, admins, server, d, what)

    hub.policy = policy
    hub.on_change = changed
    hub.start()
    if wait > 0 and not await hub.wait_connected(wait):
        for status in hub.statuses():
            if status.state != "connected":
                log_event(logger, "mcp server not connected at start; retrying in the background", level=logging.WARNING, server=status.name, error=status.last_error)
    return hub


async def tell_admins(
    store: Store, slack: AsyncWebClient | None, admins: list[str], server: str, d: ToolDef, what: list[str]
) -> None:
    """Audit the change once across processes and DM the admins named in CHATOPS_ADMINS (when running in Slack)."""
    key = f"mcp-changed:{server}:{d.name}:{d.fingerprint}"
    claimed = await store.claim_write(
        key=key,
        user_id="mcp",
        tool=f"mcp:{server}:{d.name}"[:64],
        target=server,
        conversation_id=None,
        tool_use_id=None,
        details={"changed": what, "fingerprint": d.fingerprint},
    )
    if not claimed or slack is None:
        return
    from bot.slack_api.markdown import escape_mrkdwn
    from bot.slack_api.outbound import mask_secrets, neutralize_broadcasts

    text = neutralize_broadcasts(mask_secrets(escape_mrkdwn(admin_text.mcp_tool_changed(server, d.name, what))))
    for admin in admins:
        try:
            await slack.chat_postMessage(channel=admin, text=text)
        except Exception:
            logger.warning("could not DM admin %s about a changed MCP tool", admin, exc_info=True)
