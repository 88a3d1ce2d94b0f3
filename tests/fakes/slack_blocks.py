"""The Block Kit limits Slack enforces on what an app sends (as the fake Slack checks them): valid blocks per
slack_sdk's models, 50 blocks per message and 100 per view, 3,000 characters per section, 12,000 across markdown
blocks, about 13,200 characters of block text per message, 40,000-character texts."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3_000
MAX_MARKDOWN_TOTAL = 12_000
MAX_BLOCK_TEXT_TOTAL = 13_200
"""Slack rejects messages whose blocks carry more text than about this (`msg_blocks_too_long`)."""


def block_text_length(value: Any) -> int:
    """Characters of text a block payload carries (every string under a `text` key), as Slack counts them."""
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                total += len(item)
            else:
                total += block_text_length(item)
        return total
    if isinstance(value, list):
        return sum(block_text_length(v) for v in value)
    return 0


def check_blocks(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> str | None:
    """Why Slack would reject these blocks (None when valid)."""
    if not isinstance(blocks, list):
        return "blocks must be an array"
    if len(blocks) > max_blocks:
        return f"no more than {max_blocks} items allowed [json-pointer:/blocks]"
    markdown_total = 0
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict) or "type" not in raw:
            return f"missing required field: type [json-pointer:/blocks/{i}]"
        try:
            parsed = Block.parse(raw)
            if parsed is None or type(parsed) is Block:
                return f"unsupported type: {raw.get('type')} [json-pointer:/blocks/{i}/type]"
            parsed.validate_json()
        except SlackObjectFormationError as exc:
            return f"{exc} [json-pointer:/blocks/{i}]"
        children = raw.get("child_blocks", []) if raw["type"] == "container" else []
        for j, block in enumerate([raw, *children]):
            if block.get("type") == "markdown":
                markdown_total += len(block.get("text", ""))
            if block.get("type") == "section":
                text = (block.get("text") or {}).get("text", "")
                if len(text) > MAX_SECTION_TEXT:
                    return f"must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:/blocks/{i}/text]"
            if j and block.get("type") == "markdown":
                return f"unsupported type: markdown inside container [json-pointer:/blocks/{i}/child_blocks/{j - 1}]"
    if markdown_total > MAX_MARKDOWN_TOTAL:
        return f"markdown blocks exceed {MAX_MARKDOWN_TOTAL} characters in total"
    return None
