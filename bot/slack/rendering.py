"""A turn's result as Slack messages: the answer in `markdown` blocks, then the context line and the trace.

Slack's limits (50 blocks, 3,000 chars per section, 12,000 across markdown blocks, ~13k of block text, 40,000
chars of text) are met by construction: a long answer is split into several messages between paragraphs,
never inside a code block, and the last message carries the context line and trace. Every block is built with
slack_sdk's block models, whose validators run when the payload is made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, MarkdownBlock

from bot.agent.types import TurnResult
from bot.logs import get_logger, log_event
from bot.slack.feedback import feedback_block
from bot.slack.trace import summary_line, trace_blocks
from bot.slack_api.markdown import plain_preview, split_markdown
from bot.slack_api.outbound import neutralize_broadcasts
from bot.tools.base import ChannelType

ANSWER_PART_CHARS = 8_000
"""Answer characters per message; with the trace budget this keeps every message under Slack's ~12k."""
MAX_ANSWER_MESSAGES = 6
MAX_BLOCKS = 50
MAX_MARKDOWN_CHARS = 12_000
MAX_TEXT_CHARS = 40_000
_log = get_logger("slack.rendering")


@dataclass
class SlackMessage:
    """One message to post: notification `text` and `blocks`."""

    text: str
    blocks: list[dict[str, Any]]


def answer_parts(text: str) -> list[str]:
    """The answer, broadcasts made inert, split to message-sized parts (trimmed past the message cap)."""
    safe = neutralize_broadcasts(text.strip()) or "…"
    parts = split_markdown(safe, ANSWER_PART_CHARS)
    if len(parts) > MAX_ANSWER_MESSAGES:
        dropped = sum(len(p) for p in parts[MAX_ANSWER_MESSAGES:])
        parts = parts[:MAX_ANSWER_MESSAGES]
        parts[-1] += f"\n\n_(answer trimmed: {dropped:,} more characters)_"
    return parts


def markdown_blocks(part: str) -> list[dict[str, Any]]:
    """One answer part as a `markdown` block."""
    return [MarkdownBlock(text=part).to_dict()]


def feedback_blocks(result: TurnResult, *, approval: list[dict[str, Any]] | None, feedback: bool) -> list[dict[str, Any]]:
    """The 👍/👎 buttons of a finished answer (not while it waits for Approve/Cancel)."""
    if not feedback or approval or result.status == "paused" or not result.turn_id:
        return []
    return [feedback_block(result.turn_id)]


def extras_blocks(
    result: TurnResult,
    *,
    approval: list[dict[str, Any]] | None = None,
    channel_type: ChannelType = "unknown",
    feedback: bool = False,
) -> list[dict[str, Any]]:
    """What follows the answer: approval buttons (when paused), the context line, the feedback buttons (`feedback`:
    a finished answer posted in a thread), the collapsed trace (as shown in a `channel_type` conversation: refused
    calls' arguments only in DMs)."""
    return [
        *(approval or []),
        summary_line(result),
        *feedback_blocks(result, approval=approval, feedback=feedback),
        *trace_blocks(result.trace, channel_type=channel_type),
    ]


def check_message(blocks: list[dict[str, Any]], text: str = "") -> None:
    """Raise ValueError when a payload breaks a Slack limit or a block fails slack_sdk's validation."""
    check_limits(blocks, text)
    check_blocks(blocks)


def check_limits(blocks: list[dict[str, Any]], text: str = "") -> None:
    """Raise ValueError when a payload breaks a Slack limit (blocks, text, markdown characters)."""
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks; Slack allows {MAX_BLOCKS}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text of {len(text)} characters; Slack allows {MAX_TEXT_CHARS}")
    markdown = sum(len(b.get("text", "")) for b in blocks if b.get("type") == "markdown")
    if markdown > MAX_MARKDOWN_CHARS:
        raise ValueError(f"{markdown} characters in markdown blocks; Slack allows {MAX_MARKDOWN_CHARS}")


def check_blocks(blocks: list[dict[str, Any]]) -> None:
    """Raise ValueError when a block (given as a dict) fails slack_sdk's validation."""
    for raw in blocks:
        parsed = Block.parse(raw)
        if parsed is None:
            raise ValueError(f"unknown block type {raw.get('type')!r}")
        parsed.validate_json()


def render_turn(
    result: TurnResult,
    *,
    approval: list[dict[str, Any]] | None = None,
    channel_type: ChannelType = "unknown",
    feedback: bool = False,
) -> list[SlackMessage]:
    """The messages for a finished turn, in posting order; the last carries the context line and trace.

    `channel_type` is where they are posted (the Actor's): outside DMs the trace hides refused calls' arguments."""
    parts = answer_parts(result.text)
    messages = [SlackMessage(text=plain_preview(part), blocks=markdown_blocks(part)) for part in parts]
    messages[-1].blocks.extend(extras_blocks(result, approval=approval, channel_type=channel_type, feedback=feedback))
    # the blocks built here were validated by their models' to_dict (or copied from a validated template); only
    # the approval blocks come from elsewhere
    check_blocks(approval or [])
    for msg in messages:
        check_limits(msg.blocks, msg.text)
    return messages


def render_safely(
    result: TurnResult,
    *,
    approval: list[dict[str, Any]] | None = None,
    channel_type: ChannelType = "unknown",
    feedback: bool = False,
) -> list[SlackMessage]:
    """`render_turn`, degrading (without the trace, then answer only) rather than losing the answer to a bad block."""
    try:
        return render_turn(result, approval=approval, channel_type=channel_type, feedback=feedback)
    except (ValueError, SlackObjectFormationError) as exc:
        log_event(_log, "rendering failed, degrading", logging.ERROR, error=str(exc)[:300])
    parts = answer_parts(result.text)
    messages = [SlackMessage(text=plain_preview(part), blocks=markdown_blocks(part)) for part in parts]
    try:
        extra = [*(approval or []), summary_line(result), *feedback_blocks(result, approval=approval, feedback=feedback)]
        check_message([*messages[-1].blocks, *extra])
        messages[-1].blocks.extend(extra)
    except (ValueError, SlackObjectFormationError) as exc:
        log_event(_log, "approval or context blocks dropped", logging.ERROR, error=str(exc)[:300])
    return messages
