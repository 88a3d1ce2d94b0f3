"""Ticket links and their Work Objects: which URLs are tickets, and a ticket as a Slack Task entity.

Recognised links: the configured Jira's `<JIRA_URL>/browse/KEY` (also `?selectedIssue=KEY` board links), and the
local store's `<CHATOPS_PUBLIC_URL>/tickets/KEY` (served by the bot's own HTTP server). Anything else is not a
ticket link. Entities are built with slack_sdk's Work Object models (`slack_sdk.models.metadata`), whose
validators run when the payload is made. The unfurl entity (seen by everyone in the channel) carries key,
summary, status, assignee, priority and dates; the flexpane entity (seen by one viewer) adds the description and
the latest comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit

from slack_sdk.models.metadata import (
    EntityAttributes,
    EntityCustomField,
    EntityMetadata,
    EntityPayload,
    EntityStringField,
    EntityTimestampField,
    EntityTitle,
    EntityTypedField,
    ExternalRef,
    TaskEntityFields,
)

from bot.messages.slack import ticket_page
from bot.slack_api.markdown import shorten
from bot.slack_api.outbound import neutralize_broadcasts
from integrations.tickets.local import TICKET_PATH, ticket_url

if TYPE_CHECKING:
    from bot.settings import Settings
    from integrations.tickets.base import Comment, Ticket

TASK = "slack#/entities/task"
TICKET_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,19}-[1-9]\d{0,8}$")
LOCAL_PATH = TICKET_PATH
DESCRIPTION_CHARS = 1_500
COMMENT_CHARS = 400
MAX_URL_CHARS = 2_000


@dataclass(frozen=True)
class TicketLink:
    """A posted URL that names a ticket of the configured ticket system."""

    url: str
    """Exactly as posted (Slack wants it back as `app_unfurl_url`)."""
    key: str
    canonical: str
    """The ticket's own URL (the entity's `url`)."""
    system: Literal["jira", "local"]


def _base(url: str | None) -> tuple[str, str, str] | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, (parts.netloc or "").lower(), parts.path.rstrip("/")


def ticket_link(url: Any, settings: Settings) -> TicketLink | None:
    """The ticket a URL links to, when it is one of the configured ticket system's; else None."""
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    here = (parts.scheme, (parts.netloc or "").lower())
    jira = _base(settings.jira_url) if settings.ticket_backend == "jira" else None
    if jira and here == jira[:2] and parts.path.startswith(jira[2] + "/"):
        rest = parts.path[len(jira[2]) :]
        candidate = rest.removeprefix("/browse/") if rest.startswith("/browse/") else None
        if candidate is None:
            candidate = (parse_qs(parts.query).get("selectedIssue") or [""])[0]
        key = candidate.strip("/").upper()
        if TICKET_KEY.match(key):
            return TicketLink(url=url, key=key, canonical=f"{settings.jira_url}/browse/{key}", system="jira")
    local = _base(settings.chatops_public_url) if settings.ticket_backend == "local" else None
    if local and here == local[:2] and parts.path.startswith(local[2] + LOCAL_PATH):
        key = parts.path[len(local[2] + LOCAL_PATH) :].strip("/").upper()
        if TICKET_KEY.match(key):
            return TicketLink(url=url, key=key, canonical=local_ticket_url(settings, key), system="local")
    return None


def local_ticket_url(settings: Settings, key: str) -> str:
    """The link to a local-store ticket on the bot's own HTTP server (the local store's own definition)."""
    return ticket_url(settings.chatops_public_url or "", key)


_URL_IN_TEXT = re.compile(r"https?://[^\s<>|()\[\]`\"']+")
_KEY_IN_TEXT = re.compile(r"(?<![\w/#.=-])([A-Z][A-Z0-9_]{0,19}-[1-9]\d{0,8})(?![\w-]|\.\w)")
"""A bare key in prose: not inside a path, a file name or a query (`a/OPS-1`, `OPS-1.txt`, `?k=OPS-1`)."""


def named_ticket(key: str, settings: Settings) -> TicketLink | None:
    """A ticket an answer names by its key alone, as a link to its own page (None when it has no page: the local
    store without CHATOPS_PUBLIC_URL)."""
    if settings.ticket_backend == "jira" and settings.jira_url:
        canonical = f"{settings.jira_url}/browse/{key}"
        return TicketLink(url=canonical, key=key, canonical=canonical, system="jira")
    if settings.ticket_backend == "local" and settings.chatops_public_url:
        canonical = local_ticket_url(settings, key)
        return TicketLink(url=canonical, key=key, canonical=canonical, system="local")
    return None


def answer_ticket_links(text: Any, settings: Settings, *, limit: int = 5) -> list[TicketLink]:
    """The tickets an answer links (links to the configured ticket system, as Markdown or Slack links) or names
    (bare keys), in order of first mention, each once, at most `limit`."""
    if not isinstance(text, str):
        return []
    found: dict[str, tuple[int, TicketLink]] = {}
    for match in _URL_IN_TEXT.finditer(text):
        link = ticket_link(match.group(0).rstrip(".,;:!?*_~"), settings)
        if link is not None and link.key not in found:
            found[link.key] = (match.start(), link)
    for match in _KEY_IN_TEXT.finditer(text):
        key = match.group(1)
        if key not in found and TICKET_KEY.match(key) and (named := named_ticket(key, settings)) is not None:
            found[key] = (match.start(), named)
    return [link for _, link in sorted(found.values(), key=lambda item: item[0])][:limit]


def unfurl_domains(settings: Settings) -> list[str]:
    """The hosts whose links Slack should send us (`features.unfurl_domains`): Jira's, and the bot's own."""
    hosts = []
    for url in (settings.jira_url, settings.chatops_public_url):
        host = urlsplit(url).hostname if url else None
        if host and host not in hosts and re.match(r"^(?![.-])[-a-z0-9.]+[a-z0-9]$", host):
            hosts.append(host)
    return hosts[:5]


def _text(value: str, limit: int) -> str:
    """Text for an entity field: broadcasts made inert, short fields on one line, at most `limit` characters."""
    flat = " ".join(value.split()) if limit <= 200 else value.strip()
    return shorten(neutralize_broadcasts(flat), limit)


def _fields(ticket: Ticket, *, description: bool) -> TaskEntityFields:
    return TaskEntityFields(
        status=EntityStringField(value=_text(ticket.status, 60)),
        priority=EntityStringField(value=_text(ticket.priority, 40)) if ticket.priority else None,
        assignee=EntityTypedField(type="string", value=_text(ticket.assignee.name, 80) if ticket.assignee else "Unassigned"),
        date_created=EntityTimestampField(value=int(ticket.created.timestamp())),
        date_updated=EntityTimestampField(value=int(ticket.updated.timestamp())),
        description=EntityStringField(value=_text(ticket.description, DESCRIPTION_CHARS), long=True)
        if description and ticket.description.strip()
        else None,
    )


def _comments_field(comments: list[Comment]) -> EntityCustomField:
    lines = [
        f"{_text(c.author.name if c.author else 'someone', 80)} ({c.created:%Y-%m-%d}): {_text(c.body, COMMENT_CHARS)}"
        for c in comments
    ]
    return EntityCustomField(label="Latest comments", key="latest_comments", type="string", value="\n\n".join(lines), long=True)


def task_entity(
    ticket: Ticket,
    link: TicketLink,
    *,
    product: str,
    details: bool = False,
    comments: list[Comment] | None = None,
    unfurl: bool = True,
) -> dict[str, Any]:
    """The ticket as a Work Object Task. `details` (flexpane: one viewer) adds the description and `comments`;
    `unfurl` sets `app_unfurl_url` (required by chat.unfurl)."""
    payload = EntityPayload(
        attributes=EntityAttributes(
            title=EntityTitle(text=_text(ticket.summary, 200) or ticket.key),
            display_id=ticket.key,
            display_type=_text(ticket.issue_type, 40) or "Ticket",
            product_name=product,
        ),
        fields=_fields(ticket, description=details),
        custom_fields=[_comments_field(comments)] if details and comments else None,
    )
    entity = EntityMetadata(
        entity_type=TASK,
        entity_payload=payload,
        external_ref=ExternalRef(id=ticket.key, type="ticket"),
        url=link.canonical,
        app_unfurl_url=link.url if unfurl else None,
    )
    return entity.to_dict()


def ticket_page_text(key: Any, settings: Settings) -> str | None:
    """The body of GET /tickets/<key> (None: not a ticket key). It names no ticket content and does not say whether
    the ticket exists: the page is not authenticated; Slack shows the details to whoever may see them."""
    key = str(key).upper()
    if settings.ticket_backend != "local" or not TICKET_KEY.match(key):
        return None
    return ticket_page(key, "built-in ticket store")
