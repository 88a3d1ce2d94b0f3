"""The buttons and the tool menu of the config modal's "MCP servers" section (bot/slack/mcp_section.py).

Enable (approves the tools as listed now) or Disable, Approve changes, and switching one tool on or off act at once
(admin re-checked per click; a refused click is logged and audited), through `bot/mcp/trust.py`: a config-version
change that every process applies on its next request. The modal is then rebuilt with the outcome as its note.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError
from bot.logs import get_logger, log_event
from bot.mcp.trust import Action, change_trust
from bot.messages import admin as admin_text
from bot.slack.admin_view import notice_view, opened_version, refresh_config_view
from bot.slack.mcp_section import ACTION_PATTERN
from bot.slack.payloads import BlockActions

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps

logger = get_logger("mcp.admin")


async def handle_mcp_button(deps: Deps, client: Any, *, body: dict[str, Any]) -> None:
    """Apply one click (admins only; a refused click is logged and audited) and refresh the modal."""
    payload = BlockActions.of(body)
    if payload is None or payload.view is None:
        return
    action, view, user_id = payload.action, payload.view, payload.user.id
    match = ACTION_PATTERN.match(action.action_id)
    if match is None:
        return
    verb = match.group(1)
    chosen = action.selected_option.value if action.selected_option is not None else None
    value = str(chosen if verb == "tool" else action.value or "")
    server, _, tool = value.partition("|")
    state = await deps.live.current()
    if not state.is_admin(user_id):
        log_event(logger, "mcp change refused: not an admin", logging.WARNING, user=user_id, action=verb)
        await deps.store.record_config_denial(user_id=user_id, reason="not an admin", details={"action": f"mcp.{verb}", "server": server})
        await client.views_update(view_id=view.id, view=notice_view(admin_text.mcp_admin_only()))
        return
    kind: Action = verb  # type: ignore[assignment]
    if verb == "tool":
        trust = state.policy.mcp_trust.get(server)
        current = trust.tools.get(tool) if trust else None
        kind = "tool_off" if current is not None and current.enabled else "tool_on"
    try:
        note = await change_trust(deps, actor_id=user_id, server=server, action=kind, tool=tool or None)
    except ConfigError as exc:
        note = str(exc)
    log_event(logger, "mcp change", user=user_id, server=server, action=kind, tool=tool or None, result=note)
    await refresh_config_view(client, deps, view_id=view.id, opened_at=opened_version(view), note=note)


def register_mcp_handlers(app: AsyncApp, deps: Deps) -> None:
    """The MCP section's buttons and menu."""

    @app.action(ACTION_PATTERN)
    async def _on_mcp_action(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        await handle_mcp_button(deps, client, body=body)
