"""Text for Slack: split Markdown to size without breaking code blocks, escape mrkdwn (broadcasts and secrets are
made inert by bot/slack_api/outbound.py, the one sanitizer).

The model writes standard Markdown, which Slack's `markdown` block renders as is; these helpers only make it
fit Slack's limits and keep it from pinging a whole channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class _Unit:
    text: str
    fence: str | None = None
    """For a code block: its opening fence line (e.g. ```python); None for prose."""


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters mrkdwn reserves (so data cannot form links or mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def plain_preview(markdown: str, limit: int = 280) -> str:
    """A one-paragraph plain-text preview of Markdown (the notification text of a message)."""
    lines = [ln for ln in markdown.splitlines() if ln.strip() and not _FENCE.match(ln)]
    flat = " ".join(" ".join(lines).split())
    flat = " ".join(re.sub(r"[*_`#>]+", "", flat).split())
    return escape_mrkdwn(shorten(flat, limit)) or "…"


def _units(text: str) -> list[_Unit]:
    """Prose paragraphs and whole code blocks, in order."""
    units: list[_Unit] = []
    para: list[str] = []
    code: list[str] = []
    fence: str | None = None
    marker = ""
    for line in text.split("\n"):
        if fence is None:
            match = _FENCE.match(line)
            if match:
                if para:
                    units.append(_Unit("\n".join(para)))
                    para = []
                fence, marker, code = line.strip(), match.group(1), [line]
            elif line.strip():
                para.append(line)
            elif para:
                units.append(_Unit("\n".join(para)))
                para = []
        else:
            code.append(line)
            stripped = line.strip()
            if stripped.startswith(marker[0] * len(marker)) and not stripped.strip(marker[0]):
                units.append(_Unit("\n".join(code), fence))
                fence = None
    if fence is not None:
        # an unclosed block (a cut-off answer): close it so the rest of the message is not code
        closer = marker[0] * len(marker)
        units.append(_Unit("\n".join([*code, closer]), fence))
    if para:
        units.append(_Unit("\n".join(para)))
    return units


def _hard_split(text: str, limit: int) -> list[str]:
    """Split at the last newline or space before `limit`, or exactly at it when there is none."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n ")
    if text:
        pieces.append(text)
    return pieces


def _split_unit(unit: _Unit, limit: int) -> list[str]:
    if len(unit.text) <= limit:
        return [unit.text]
    if unit.fence is None:
        return _hard_split(unit.text, limit)
    # a long code block becomes several complete blocks, each reopened with the same fence and language
    opener = unit.fence
    closer = re.match(r"`+|~+", opener)
    close = closer.group(0) if closer else "```"
    body = unit.text.split("\n")[1:-1]
    room = max(1, limit - len(opener) - len(close) - 2)
    blocks: list[str] = []
    current: list[str] = []
    size = 0
    for line in body:
        for piece in _hard_split(line, room) or [""]:
            if current and size + len(piece) + 1 > room:
                blocks.append("\n".join([opener, *current, close]))
                current, size = [], 0
            current.append(piece)
            size += len(piece) + 1
    blocks.append("\n".join([opener, *current, close]))
    return blocks


def split_markdown(text: str, limit: int) -> list[str]:
    """Split Markdown into parts of at most `limit` characters, between paragraphs, never inside a code block."""
    if limit < 40:
        raise ValueError("limit too small to split Markdown sensibly")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for unit in _units(text):
        for piece in _split_unit(unit, limit):
            if not current:
                current = piece
            elif len(current) + 2 + len(piece) <= limit:
                current = f"{current}\n\n{piece}"
            else:
                parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts
