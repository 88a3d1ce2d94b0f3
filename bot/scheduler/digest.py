"""The project digest: which tickets need attention (new, stale, blocked, high priority), grouped by assignee.

`collect_digest` reuses the summary tools' `build_digest` (stale, blocked, high priority) and adds the tickets
created since the previous digest; the same definitions as the `workload_digest` tool, on Jira or the local store.
`digest_blocks` / `digest_text` render it as Block Kit and as plain mrkdwn (previews, notification text).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.messages import digests as digests_text
from bot.tools.summaries import MAX_DIGEST_TICKETS, build_digest
from integrations.tickets.base import Ticket, TicketBackend, TicketQuery

Tag = Literal["new", "stale", "blocked", "high"]
TAGS: tuple[Tag, ...] = ("new", "stale", "blocked", "high")
MAX_LINES_PER_PERSON = 15
MAX_SECTIONS = 40
"""Assignee sections per message (Slack allows 50 blocks; a few go to the header and footer)."""
SECTION_LIMIT = 2_900
TEXT_BUDGET = 11_000
"""Characters of text across all blocks (Slack rejects messages carrying more than about 13,000)."""


@dataclass(frozen=True)
class DigestItem:
    """One ticket and why it is in the digest."""

    ticket: Ticket
    tags: tuple[Tag, ...]
    idle_days: int


@dataclass
class Digest:
    """A project's digest at one moment."""

    project: str
    now: datetime
    since: datetime
    stale_days: int
    groups: dict[str, list[DigestItem]] = field(default_factory=dict)
    """Assignee name (or 'Unassigned') → items, most urgent first."""
    counts: dict[Tag, int] = field(default_factory=lambda: {"new": 0, "stale": 0, "blocked": 0, "high": 0})
    truncated: bool = False

    @property
    def empty(self) -> bool:
        """True when nothing needs attention."""
        return not self.groups


async def collect_digest(
    backend: TicketBackend, *, project: str, now: datetime, since: datetime, stale_days: int
) -> Digest:
    """Stale, blocked and high-priority open tickets (the summary tools' `build_digest`, so the scheduled digest
    and the `workload_digest` tool agree), plus tickets created since `since`; backend errors propagate."""
    base = await build_digest(
        backend, project=project, assignee_id=None, now=now, stale_days=stale_days, scope=project
    )
    created = await backend.search_tickets(
        TicketQuery(projects=(project,), created_after=since, order_by="created", limit=100)
    )
    digest = Digest(project=project, now=now, since=since, stale_days=stale_days, truncated=base.truncated)
    found: dict[str, tuple[Ticket, set[Tag]]] = {}
    reasons: tuple[tuple[Tag, Iterable[Ticket]], ...] = (
        ("new", created.tickets), ("stale", base.stale), ("blocked", base.blocked), ("high", base.high_priority),
    )  # fmt: skip
    for tag, tickets in reasons:
        for ticket in tickets:
            found.setdefault(ticket.key, (ticket, set()))[1].add(tag)
    items = [
        DigestItem(ticket, tuple(t for t in TAGS if t in tags), max(0, (now - ticket.updated).days))
        for ticket, tags in found.values()
    ]
    for item in sorted(items, key=_urgency):
        name = item.ticket.assignee.name if item.ticket.assignee else digests_text.unassigned()
        digest.groups.setdefault(name, []).append(item)
        for tag in item.tags:
            digest.counts[tag] += 1
    digest.groups = dict(sorted(digest.groups.items(), key=lambda kv: (kv[0] == digests_text.unassigned(), kv[0].lower())))
    return digest


def _urgency(item: DigestItem) -> tuple[int, int, str]:
    rank = 0 if "blocked" in item.tags else 1 if "high" in item.tags else 2 if "stale" in item.tags else 3
    return rank, -item.idle_days, item.ticket.key


# ---------------------------------------------------------------- rendering


def escape(text: str) -> str:
    """Escape Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(ticket: Ticket) -> str:
    return f"<{ticket.url}|{ticket.key}>" if ticket.url else f"*{ticket.key}*"


def _labels(item: DigestItem) -> str:
    words = digests_text.tag_words(idle_days=item.idle_days, priority=item.ticket.priority)
    return ", ".join(words[tag] for tag in item.tags)


def item_line(item: DigestItem) -> str:
    """One mrkdwn line: link, summary, status and tags."""
    summary = escape(item.ticket.summary)
    if len(summary) > 90:
        summary = summary[:89] + "…"
    return f"• {_link(item.ticket)} {summary} — _{escape(item.ticket.status)}_ · {_labels(item)}"


def headline(digest: Digest) -> str:
    """The one-line summary (notification text)."""
    c = digest.counts
    return digests_text.headline(
        digest.project, new=c["new"], stale=c["stale"], blocked=c["blocked"], high=c["high"], empty=digest.empty
    )


def _person_text(name: str, items: list[DigestItem], *, limit: int = SECTION_LIMIT) -> str:
    """One assignee's lines, as many as fit in `limit` characters (and MAX_LINES_PER_PERSON), then '…and N more'."""
    head = f"*{escape(name)}* ({len(items)})"
    text, shown = head, 0
    for item in items[:MAX_LINES_PER_PERSON]:
        line = "\n" + item_line(item)
        if len(text) + len(line) + 30 > limit:
            break
        text, shown = text + line, shown + 1
    if shown < len(items):
        text += "\n" + digests_text.more_items(len(items) - shown)
    return text


def _footer(digest: Digest, title: str | None) -> str:
    parts = digests_text.footer_parts(
        since=digest.since, stale_days=digest.stale_days, truncated_at=MAX_DIGEST_TICKETS if digest.truncated else None
    )
    if title:
        parts.append(escape(title))
    return " · ".join(parts)


def digest_blocks(digest: Digest, *, title: str | None = None) -> list[dict[str, Any]]:
    """The digest as Block Kit, within Slack's limits: at most 50 blocks, 3,000 characters per section and
    TEXT_BUDGET characters in all (people who do not fit are counted in a last line)."""
    blocks: list[Block] = [HeaderBlock(text=digests_text.title(digest.project, digest.now)[:150])]
    blocks.append(SectionBlock(text=MarkdownTextObject(text=escape(headline(digest)))))
    if not digest.empty:
        blocks.append(DividerBlock())
    footer = _footer(digest, title)
    budget = TEXT_BUDGET - len(footer) - 200
    groups = list(digest.groups.items())
    shown = 0
    for name, items in groups[:MAX_SECTIONS]:
        if budget < 300:
            break
        text = _person_text(name, items, limit=min(SECTION_LIMIT, budget))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
        budget -= len(text)
        shown += 1
    if shown < len(groups):
        rest = sum(len(items) for _, items in groups[shown:])
        blocks.append(SectionBlock(text=MarkdownTextObject(text=digests_text.more_people(rest, len(groups) - shown))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return [b.to_dict() for b in blocks]


def digest_text(digest: Digest, *, title: str | None = None) -> str:
    """The digest as one mrkdwn text (ephemeral previews), capped at 12,000 characters."""
    parts = [f"*{escape(headline(digest))}*"]
    parts.extend(_person_text(name, items) for name, items in digest.groups.items())
    parts.append(f"_{_footer(digest, title)}_")
    text = "\n\n".join(parts)
    return text if len(text) <= 12_000 else text[:11_990] + "\n…"


def ticket_lines(tickets: Iterable[Ticket], *, now: datetime) -> list[str]:
    """Lines for a reminder DM: link, summary, days without an update."""
    lines = []
    for t in tickets:
        summary = escape(t.summary if len(t.summary) <= 90 else t.summary[:89] + "…")
        lines.append(f"• {_link(t)} {summary} — {digests_text.idle_for(max(0, (now - t.updated).days))}")
    return lines
