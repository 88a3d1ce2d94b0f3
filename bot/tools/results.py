"""Compact, capped tool results: only the fields the model needs, people flattened to names, nulls dropped.

Tools shape their own results to fit `chatops_max_result_chars`, dropping whole list items (with a note saying
how many are shown) so the loop never has to cut a result in the middle of its JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.messages import tools as tool_text
from bot.tools.base import ToolContext
from integrations.tickets.base import Comment, Person, Ticket

DESCRIPTION_CHARS = 2000
COMMENT_CHARS = 1500
_WRAPPER_MARGIN = 200
"""Room left for the loop's untrusted-data delimiters around the JSON."""


def when(value: datetime) -> str:
    """A UTC time to the minute, e.g. '2026-11-18 14:30'."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def name_of(person: Person | None) -> str | None:
    """A person's display name (None for nobody)."""
    return person.name if person else None


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with a marker saying how much was kept."""
    if len(text) <= limit:
        return text
    return text[:limit] + tool_text.text_cut(limit, len(text))


def clean(value: Any) -> Any:
    """`value` without None, empty strings, empty lists or empty dicts (recursively)."""
    if isinstance(value, dict):
        items = ((k, clean(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in (None, "", [], {})}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value if v is not None]
    return value


def ticket_brief(ticket: Ticket) -> dict[str, Any]:
    """A ticket as one line of a list."""
    return clean(
        {
            "key": ticket.key,
            "summary": ticket.summary,
            "status": ticket.status,
            "priority": ticket.priority,
            "assignee": name_of(ticket.assignee) or "unassigned",
            "updated": when(ticket.updated),
        }
    )


def ticket_detail(ticket: Ticket, *, description_chars: int = DESCRIPTION_CHARS) -> dict[str, Any]:
    """A ticket with everything the model may need to answer about it."""
    return clean(
        {
            "key": ticket.key,
            "project": ticket.project,
            "summary": ticket.summary,
            "type": ticket.issue_type,
            "status": ticket.status,
            "status_category": ticket.status_category,
            "priority": ticket.priority,
            "assignee": name_of(ticket.assignee) or "unassigned",
            "reporter": name_of(ticket.reporter),
            "labels": list(ticket.labels),
            "created": when(ticket.created),
            "updated": when(ticket.updated),
            "comments": ticket.comment_count,
            "url": ticket.url,
            "fields": {k: v for k, v in ticket.custom.items() if v not in (None, "", [])},
            "description": clip(ticket.description, description_chars),
        }
    )


def comment_view(comment: Comment, *, body_chars: int = COMMENT_CHARS) -> dict[str, Any]:
    """One comment: who, when, what."""
    return clean(
        {
            "id": comment.id,
            "author": name_of(comment.author) or "unknown",
            "created": when(comment.created),
            "body": clip(comment.body, body_chars),
        }
    )


def budget(ctx: ToolContext) -> int:
    """Characters a result may take so the loop never cuts it."""
    return max(500, ctx.deps.settings.chatops_max_result_chars - _WRAPPER_MARGIN)


def size(value: Any) -> int:
    """Length of `value` as the compact JSON the loop sends."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def fit_list(
    result: dict[str, Any],
    field: str,
    limit: int,
    *,
    total: int | str | None = None,
    hint: str,
    note: str = "note",
) -> dict[str, Any]:
    """Drop items from the end of `result[field]` until the result fits `limit`; say so in `result[note]`."""
    items: list[Any] = list(result.get(field, []))
    full = len(items)
    while items and size({**result, field: items, note: "x" * 120}) > limit:
        items.pop()
    result = {**result, field: items}
    if len(items) < full:
        result[note] = tool_text.results_cut(len(items), total if total is not None else full, hint)
    return result


def fit_text(result: dict[str, Any], field: str, limit: int) -> dict[str, Any]:
    """Shorten the text `result[field]` until the result fits `limit`."""
    text = str(result.get(field, ""))
    overflow = size(result) - limit
    if overflow <= 0:
        return result
    keep = max(0, len(text) - overflow - 80)
    return {**result, field: clip(text, keep)}
