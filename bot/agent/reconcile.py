"""Finding out whether a write whose answer was lost (the process died while sending it) landed, by reading the
ticket it targeted. Nothing here ever sends a write.

| tool | done when | not done when |
|---|---|---|
| `transition_ticket` | the ticket is in the requested status | it is in another status |
| `assign_ticket` | the assignee is the requested one (by id, or unassigned) | (names cannot be checked: unknown) |
| `add_comment` | a comment since the write started carries the body's words | no such comment |
| `update_ticket` | every requested field has the requested value | none has |
| `create_ticket` | a ticket created since then in the project has exactly that summary | none has |

Anything else, a ticket that cannot be read, or arguments that were redacted, is `unknown`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from bot.agent.results import REDACTED
from bot.logs import get_logger, log_event
from integrations.tickets.base import TicketQuery

if TYPE_CHECKING:
    from integrations.tickets.base import Ticket, TicketBackend

Outcome = Literal["done", "not_done", "unknown"]
CLOCK_SKEW = timedelta(minutes=2)
"""Backend clocks differ from ours: "since the write started" allows this much."""

_log = get_logger("agent.reconcile")


@dataclass(frozen=True)
class WriteOutcome:
    """What reading the ticket says about one write."""

    outcome: Outcome
    key: str | None = None
    """The ticket concerned (a create's new key when it was found)."""
    url: str | None = None


def _words(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def _same(a: Any, b: Any) -> bool:
    return _words(str(a)) == _words(str(b))


async def reconcile_write(tickets: TicketBackend, tool: str, arguments: dict[str, Any], *, since: datetime) -> WriteOutcome:
    """Whether `tool(arguments)`, sent at about `since`, is visible in the ticket backend."""
    if any(value == REDACTED for value in arguments.values()):
        return WriteOutcome("unknown", _key(arguments))
    try:
        return await _check(tickets, tool, arguments, since - CLOCK_SKEW)
    except Exception as exc:  # noqa: BLE001 - a backend that cannot be read leaves the outcome unknown
        log_event(_log, "could not check a write's outcome", logging.WARNING, tool=tool, error=repr(exc))
        return WriteOutcome("unknown", _key(arguments))


def _key(arguments: dict[str, Any]) -> str | None:
    value = arguments.get("key")
    return str(value) if value else None


async def _check(tickets: TicketBackend, tool: str, args: dict[str, Any], since: datetime) -> WriteOutcome:
    key = _key(args)
    if tool == "create_ticket":
        return await _created(tickets, args, since)
    if key is None:
        return WriteOutcome("unknown")
    ticket = await tickets.get_ticket(key)
    url = ticket.url
    if tool == "transition_ticket":
        wanted = args.get("status")
        return WriteOutcome("done" if wanted and _same(ticket.status, wanted) else "not_done", key, url)
    if tool == "assign_ticket":
        return WriteOutcome(_assigned(ticket, args.get("assignee")), key, url)
    if tool == "add_comment":
        return WriteOutcome(await _commented(tickets, key, str(args.get("body") or ""), since), key, url)
    if tool == "update_ticket":
        return WriteOutcome(_updated(ticket, args), key, url)
    return WriteOutcome("unknown", key, url)


def _assigned(ticket: Ticket, assignee: Any) -> Outcome:
    current = ticket.assignee
    if assignee is None or str(assignee).lower() in ("unassigned", "none", ""):
        return "done" if current is None else "not_done"
    if current is not None and str(assignee) == current.id:
        return "done"
    return "unknown"  # a name or "me": resolving it again could pick someone else


async def _commented(tickets: TicketBackend, key: str, body: str, since: datetime) -> Outcome:
    wanted = _words(body)[:120]
    if not wanted:
        return "unknown"
    page = await tickets.list_comments(key, limit=50)
    for comment in page.comments:
        created = comment.created if comment.created.tzinfo else comment.created.replace(tzinfo=since.tzinfo)
        if created >= since and wanted in _words(comment.body):
            return "done"
    return "not_done"


def _updated(ticket: Ticket, args: dict[str, Any]) -> Outcome:
    checks: list[bool] = []
    for name in ("summary", "description", "priority"):
        if args.get(name) is not None:
            checks.append(_same(getattr(ticket, name) or "", args[name]))
    if args.get("labels") is not None:
        checks.append(sorted(map(str, args["labels"])) == sorted(ticket.labels))
    if not checks:
        return "unknown"
    if all(checks):
        return "done"
    return "not_done" if not any(checks) else "unknown"


async def _created(tickets: TicketBackend, args: dict[str, Any], since: datetime) -> WriteOutcome:
    project, summary = args.get("project"), args.get("summary")
    if not project or not summary:
        return WriteOutcome("unknown")
    page = await tickets.search_tickets(
        TicketQuery(projects=(str(project),), text=str(summary), created_after=since, order_by="created", limit=20)
    )
    for ticket in page.tickets:
        if _same(ticket.summary, summary):
            return WriteOutcome("done", ticket.key, ticket.url)
    return WriteOutcome("not_done")
