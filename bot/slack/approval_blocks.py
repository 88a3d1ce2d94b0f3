"""The Approve / Cancel message of a write that needs confirmation, and the same message once decided.

The message states the exact action: the loop's one-line description, then every argument in words. Each
button's action id carries the UI version and the approval id (`chatops.approval/v1/approve/<id>`), so buttons
rendered by an older version are recognised and answered clearly instead of guessed at. Rendering only: the clicks
are handled in bot/slack/approvals_ui.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.agent.results import redact
from bot.messages import approvals as approval_text
from bot.slack_api.outbound import neutralize_broadcasts

if TYPE_CHECKING:
    from bot.agent.types import PendingAction
    from bot.storage.tables import PendingApprovalRow

UI_VERSION = 1
ACTION_PREFIX = "chatops.approval"
ACTION_PATTERN = re.compile(rf"^{re.escape(ACTION_PREFIX)}/")
Choice = Literal["approve", "cancel"]

_MAX_VALUE_CHARS = 2_600
"""Per argument, within one section's 3,000 characters; longer values show their start and end."""


@dataclass(frozen=True)
class ApprovalAction:
    """What a button's action id says."""

    version: int
    choice: Choice
    approval_id: str


def action_id(choice: Choice, approval_id: str, *, version: int = UI_VERSION) -> str:
    """The action id of an Approve or Cancel button."""
    return f"{ACTION_PREFIX}/v{version}/{choice}/{approval_id}"


def parse_action_id(value: str) -> ApprovalAction | None:
    """Read a button's action id; None when it is not one of ours in any version."""
    match = re.match(rf"^{re.escape(ACTION_PREFIX)}/v(\d+)/(approve|cancel)/([A-Za-z0-9_-]{{1,64}})$", value)
    if match is None:
        return None
    choice: Choice = "approve" if match.group(2) == "approve" else "cancel"
    return ApprovalAction(version=int(match.group(1)), choice=choice, approval_id=match.group(3))


def _escape(text: str) -> str:
    """Slack control characters out (no mentions, links or broadcasts smuggled in through arguments)."""
    return neutralize_broadcasts(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _label(name: str) -> str:
    return {"key": "Ticket", "body": "Comment", "issue_type": "Issue type"}.get(name, name.replace("_", " ").capitalize())


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    text = str(value)
    if len(text) > _MAX_VALUE_CHARS:
        head, tail = text[: _MAX_VALUE_CHARS - 600], text[-500:]
        omitted = len(text) - len(head) - len(tail)
        return f"{head}\n… [{omitted} more characters, not shown here] …\n{tail}"
    return text


def argument_lines(arguments: dict[str, Any]) -> list[str]:
    """Every argument as `*Label:* value`, escaped; multi-line values are quoted."""
    lines = []
    for name, value in arguments.items():
        shown = _escape(_value(value))
        if "\n" in shown:
            quoted = "\n".join(f"> {line}" for line in shown.splitlines())
            lines.append(f"*{_label(name)}:*\n{quoted}")
        else:
            lines.append(f"*{_label(name)}:* {shown}")
    return lines


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _describe(*, tool: str, arguments: dict[str, Any], description: str) -> list[Block]:
    head = f"*{approval_text.approval_title()}*\n{_escape(description)}\nTool: `{tool}`"
    blocks: list[Block] = [_section(head[:2900])]
    chunk: list[str] = []
    for line in argument_lines(arguments):
        # As few sections as the 3,000-character limit allows: the message also carries the answer and trace.
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line[:2990])
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    return blocks


def describe_blocks(*, tool: str, arguments: dict[str, Any], description: str) -> list[dict[str, Any]]:
    """The blocks that state the action: title, the loop's one-line description, tool, every argument."""
    return [b.to_dict() for b in _describe(tool=tool, arguments=arguments, description=description)]


def expiry(expires: datetime) -> tuple[int, str]:
    """An expiry as epoch seconds (for Slack's date formatting) and as UTC text (the fallback)."""
    at = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    return int(at.timestamp()), at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _button(text: str, choice: Choice, approval_id: str, style: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text), action_id=action_id(choice, approval_id), style=style, value=approval_id
    )


def approval_blocks(pending: PendingAction) -> list[dict[str, Any]]:
    """Blocks that state the exact action and carry Approve / Cancel buttons."""
    epoch, iso = expiry(datetime.fromisoformat(pending.expires_at_iso))
    blocks = _describe(tool=pending.tool, arguments=pending.arguments, description=pending.description)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=approval_text.approval_footer(pending.requester_id, epoch, iso))]))
    blocks.append(
        ActionsBlock(
            block_id=f"approval:{pending.approval_id}"[:255],
            elements=[
                _button("Approve", "approve", pending.approval_id, "primary"),
                _button("Cancel", "cancel", pending.approval_id, "danger"),
            ],
        )
    )
    return [b.to_dict() for b in blocks]


def decided_blocks(row: PendingApprovalRow) -> list[dict[str, Any]]:
    """The request as decided: the same statement of the action, the buttons replaced by the outcome."""
    arguments = redact(dict(row.arguments or {}))  # the stored call is unredacted; the channel never sees secrets
    blocks = _describe(tool=row.tool, arguments=arguments, description=approval_text.action_description(row.tool, arguments))
    _, at_iso = expiry(row.decided_at or row.expires_at)
    outcome = approval_text.approval_outcome(row.status, row.decided_by, at_iso)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=outcome)]))
    return [b.to_dict() for b in blocks]
