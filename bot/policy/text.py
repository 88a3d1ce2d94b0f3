"""The policy's scopes as admins type them: `OPS, SEC`, `*`, `public`, and one `where: projects` line per channel.

Used by the configuration modal to show the current values and to read what was submitted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.policy.model import ALL, CHANNEL_ID, CHANNEL_TYPES, PUBLIC, ChannelScopes


def scope_text(scope: Sequence[str]) -> str:
    """A project scope as the admin types it."""
    return ", ".join(scope)


def channel_scopes_text(scopes: ChannelScopes) -> str:
    """One line per channel type, then one per scoped channel: `where: projects`."""
    lines = [f"{kind}: {scope_text(scopes.by_type[kind])}" for kind in CHANNEL_TYPES]
    lines += [f"{cid}: {scope_text(scope)}" for cid, scope in sorted(scopes.channels.items())]
    return "\n".join(lines)


def parse_scope(text: str) -> list[str]:
    """`OPS, sec public` → ['OPS', 'SEC', 'public']: keys upper-cased, the words `*` and `public` kept."""
    items = []
    for token in re.split(r"[,\s]+", text.strip()):
        if token:
            items.append(token.lower() if token.lower() in (ALL, PUBLIC) else token.upper())
    return items


def parse_channel_scopes(text: str) -> tuple[dict[str, Any], str | None]:
    """The channel scopes text → {"by_type": ..., "channels": ...}, or an error naming the line."""
    by_type: dict[str, list[str]] = {}
    channels: dict[str, list[str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where, sep, scope = line.partition(":")
        where = where.strip()
        if not sep:
            return {}, f"Line {number}: expected `where: projects`, e.g. `public: public` or `C0123ABCD: OPS, SEC`"
        if where.lower() in CHANNEL_TYPES:
            by_type[where.lower()] = parse_scope(scope)
        elif CHANNEL_ID.match(where.upper()):
            channels[where.upper()] = parse_scope(scope)
        else:
            kinds = ", ".join(CHANNEL_TYPES)
            return {}, f"Line {number}: {where!r} is not a channel type ({kinds}) or a channel id (like C0123ABCD)"
    return {"by_type": by_type, "channels": channels}, None
