"""The "MCP servers" section of the `/chatops config` modal, and its buttons.

Each configured server shows its state (connected or not, tool count, last error), which approved tools changed
since approval (and what changed), which listed tools are not approved yet, and buttons: Enable (approves the
tools as listed now) or Disable, Approve changes, and a menu that switches one tool on or off. The buttons act at
once (admin re-checked per click), through `bot/mcp/trust.py`: a config-version change that every process applies
on its next request.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.errors import ConfigError
from bot.logs import get_logger, log_event
from bot.mcp.hub import McpHub, changed_tools
from bot.mcp.trust import Action, change_trust
from bot.slack.markdown import escape_mrkdwn, shorten

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps
    from bot.policy.model import Policy

logger = get_logger("mcp.admin")

ACTION_PATTERN = re.compile(r"^chatops\.mcp\.(enable|disable|approve|tool)$")
_PER_SERVER = 3


def section_blocks(hub: McpHub | None, policy: Policy, *, room: int, note: str | None = None) -> list[Block]:
    """The section in at most `room` blocks (nothing when no MCP server is configured)."""
    if hub is None or not hub.servers or room < 3 + _PER_SERVER:
        return []
    intro = "Enable a server to approve its tools as listed now. A tool whose definition changes is withheld until you approve the change."
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(block_id="mcp", text="MCP servers"),
        ContextBlock(block_id="mcp:intro", elements=[MarkdownTextObject(text=intro + (f"\n*{escape_mrkdwn(note)}*" if note else ""))]),
    ]
    for name, server in list(hub.servers.items())[: (room - 3) // _PER_SERVER]:
        blocks += _server_blocks(name, server.status, policy)
    return blocks


def _server_blocks(name: str, status: Any, policy: Policy) -> list[Block]:
    trust = policy.mcp_trust.get(name)
    enabled = bool(trust and trust.enabled)
    approved = trust.tools if trust else {}
    lines = [f"*{escape_mrkdwn(name)}* — {'enabled' if enabled else 'not enabled'}; {status.state}, {len(status.tools)} tools"]
    if status.last_error:
        lines.append(f"Last error: {escape_mrkdwn(shorten(status.last_error, 200))}")
    for d, what in changed_tools(policy, name, status.tools):
        lines.append(f"• {escape_mrkdwn(d.name)} changed ({', '.join(what)}): withheld")
    new = [d.name for d in status.tools if d.name not in approved]
    if enabled and new:
        lines.append(f"• not approved yet: {escape_mrkdwn(shorten(', '.join(new), 300))}")
    off = [tool for tool, t in approved.items() if not t.enabled]
    if off:
        lines.append(f"• switched off: {escape_mrkdwn(shorten(', '.join(off), 300))}")
    elements: list[Any] = [
        ButtonElement(text="Disable" if enabled else "Enable", action_id="chatops.mcp." + ("disable" if enabled else "enable"), value=name, style=None if enabled else "primary"),
    ]
    if enabled:
        elements.append(ButtonElement(text="Approve changes", action_id="chatops.mcp.approve", value=name))
        options = [Option(text=shorten(f"{'Switch off' if t.enabled else 'Switch on'} {tool}", 75), value=f"{name}|{tool}") for tool, t in sorted(approved.items())][:100]
        if options:
            elements.append(StaticSelectElement(placeholder="Switch a tool on or off", action_id="chatops.mcp.tool", options=options))
    return [
        SectionBlock(block_id=f"mcp-info:{name}", text=MarkdownTextObject(text=shorten("\n".join(lines), 3000))),
        ActionsBlock(block_id=f"mcp:{name}", elements=elements),
    ]


async def handle_mcp_button(deps: Deps, client: Any, *, body: dict[str, Any]) -> None:
    """Apply one click (admins only; a refused click is logged and audited) and refresh the modal."""
    from bot.policy.live import live_policy
    from bot.slack.admin_modal import notice_view, opened_version, refresh_config_view

    action = (body.get("actions") or [{}])[0]
    match = ACTION_PATTERN.match(str(action.get("action_id") or ""))
    view = body.get("view") or {}
    user_id = str((body.get("user") or {}).get("id") or "")
    if match is None or not view.get("id"):
        return
    verb = match.group(1)
    value = str((action.get("selected_option") or {}).get("value") if verb == "tool" else action.get("value") or "")
    server, _, tool = value.partition("|")
    state = await live_policy(deps).current()
    if not state.is_admin(user_id):
        log_event(logger, "mcp change refused: not an admin", logging.WARNING, user=user_id, action=verb)
        await deps.store.record_config_denial(user_id=user_id, reason="not an admin", details={"action": f"mcp.{verb}", "server": server})
        await client.views_update(view_id=view["id"], view=notice_view("Only chatops admins can change MCP servers. This attempt was logged."))
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
    await refresh_config_view(client, deps, view_id=str(view["id"]), opened_at=opened_version(view), note=note)


def register_mcp_handlers(app: AsyncApp, deps: Deps) -> None:
    """The MCP section's buttons and menu."""

    @app.action(ACTION_PATTERN)
    async def _on_mcp_action(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        await handle_mcp_button(deps, client, body=body)
