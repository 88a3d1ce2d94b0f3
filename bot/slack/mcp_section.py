"""The "MCP servers" section of the `/chatops config` modal (rendering; the buttons act in bot/slack/mcp_buttons.py).

Each configured server shows its state (connected or not, tool count, last error), which approved tools changed
since approval (and what changed), which listed tools are not approved yet, and buttons: Enable (approves the
tools as listed now) or Disable, Approve changes, and a menu that switches one tool on or off. The buttons act at
once (admin re-checked per click), through `bot/mcp/trust.py`: a config-version change that every process applies
on its next request.
"""

from __future__ import annotations

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

from bot.mcp.hub import McpHub, changed_tools
from bot.messages import admin as admin_text
from bot.slack_api.markdown import escape_mrkdwn, shorten

if TYPE_CHECKING:
    from bot.policy.model import Policy

ACTION_PATTERN = re.compile(r"^chatops\.mcp\.(enable|disable|approve|tool)$")
_PER_SERVER = 3


def section_blocks(hub: McpHub | None, policy: Policy, *, room: int, note: str | None = None) -> list[Block]:
    """The section in at most `room` blocks (nothing when no MCP server is configured)."""
    if hub is None or not hub.servers or room < 3 + _PER_SERVER:
        return []
    intro = admin_text.mcp_section_intro()
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
    new = [d.name for d in status.tools if d.name not in approved]
    off = [tool for tool, t in approved.items() if not t.enabled]
    lines = admin_text.mcp_server_lines(
        escape_mrkdwn(name), enabled=enabled, state=status.state, tools=len(status.tools),
        last_error=escape_mrkdwn(shorten(status.last_error, 200)) if status.last_error else None,
        changed=[(escape_mrkdwn(d.name), ", ".join(what)) for d, what in changed_tools(policy, name, status.tools)],
        not_approved=escape_mrkdwn(shorten(", ".join(new), 300)) if enabled and new else None,
        switched_off=escape_mrkdwn(shorten(", ".join(off), 300)) if off else None,
    )  # fmt: skip
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
