"""The digest's own text: its title and headline, the words that say why a ticket is listed, the lines that count
what did not fit, the footer, and the idle line of a reminder DM. Values (names, summaries) arrive escaped where
the caller renders mrkdwn; the headline is also the notification text, so it is escaped by the caller."""

from __future__ import annotations

from datetime import datetime


def unassigned() -> str:
    """The group of tickets nobody is assigned to (sorted last)."""
    return "Unassigned"


def title(project: str, now: datetime) -> str:
    """The digest message's header."""
    return f"{project} digest · {now:%a %d %b}"


def headline(project: str, *, new: int, stale: int, blocked: int, high: int, empty: bool) -> str:
    """The one-line summary (notification text)."""
    if empty:
        return f"Digest for {project}: nothing needs attention."
    return f"Digest for {project}: {new} new, {stale} stale, {blocked} blocked, {high} high priority."


def tag_words(*, idle_days: int, priority: str | None) -> dict[str, str]:
    """Why a ticket is listed, tag → words."""
    return {
        "new": "new",
        "stale": f"no update {idle_days}d",
        "blocked": "blocked",
        "high": (priority or "high").lower(),
    }


def more_items(count: int) -> str:
    """Tickets of one person that did not fit."""
    return f"…and {count} more"


def more_people(tickets: int, people: int) -> str:
    """People whose tickets did not fit in the message."""
    return f"…and {tickets} more tickets for {people} more people"


def footer_parts(*, since: datetime, stale_days: int, truncated_at: int | None) -> list[str]:
    """What the digest counts as new and stale, and whether the read was cut short."""
    parts = [f"New since {since:%a %d %b %H:%M} UTC", f"stale = no update for {stale_days}+ days"]
    if truncated_at is not None:
        parts.append(f"only the first {truncated_at} open tickets were read")
    return parts


def idle_for(days: int) -> str:
    """A reminder line's tail: how long the ticket has gone without an update."""
    return f"no update for {days} days"
