"""Ticket links unfurl as Work Objects (`link_shared` → `chat.unfurl`); opening one shows a per-viewer flexpane
(`entity_details_requested` → `entity.presentDetails`).

Authorization goes through the one Authorizer (`bot.agent.checks.decide_call`, the policy's `decide`), as a
`get_ticket` call:

- **Unfurl: the channel decides.** An unfurl is visible to everyone in the conversation, so it is authorized as
  the person who posted the link *in that channel* (their role ∩ the channel's project scope, the channel's kind
  from Slack by id). When that is refused, or the ticket does not exist, there is **no unfurl at all**: not even
  "a ticket exists" (the policy never says whether an unreadable key exists; the link's own text stays as posted).
- **Answers: the channel decides, the same way.** The bot's own answers are posted without Slack's link
  previews; the tickets an answer links or names (up to five) come with it as Work Objects in the message's
  metadata, each decided exactly like an unfurl of that link posted by the asker in that channel
  (`answer_entities`): a private-project ticket named in a public channel gets none.
- **Flexpane: the viewer decides.** It is shown to one person, so it is authorized as that viewer in a private
  conversation with the bot (their role's projects, the `im` channel scope), like asking the bot in a DM; it adds
  the description and, when the viewer may list comments, the latest ones. Refused or unknown tickets get
  `error.status = "restricted"` (one answer for both).

Unknown URLs, malformed payloads and ticket-system failures are logged no-ops (never an unfurl that leaks).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot.agent.checks import decide_call
from bot.errors import ChatopsError, Misconfigured, NotFound, PermissionDenied
from bot.logs import get_logger, log_event
from bot.slack.work_objects import TicketLink, answer_ticket_links, task_entity, ticket_link
from bot.tools.base import Actor
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.async_context import AsyncBoltContext

    from bot.deps import Deps
    from bot.slack.surface import Surface
    from integrations.tickets.base import Comment, Ticket

MAX_LINKS = 5
FLEXPANE_COMMENTS = 3
_log = get_logger("slack.unfurls")


async def readable(deps: Deps, actor: Actor, tool_name: str, arguments: dict[str, Any]) -> bool:
    """Whether the policy allows this read as `actor` (decided by the Authorizer; any failure is a no)."""
    tool = next((t for t in deps.tools if t.name == tool_name), None)
    if tool is None:
        return False
    try:
        decision = await decide_call(deps, actor, tool, arguments, conversation_id=f"work-object:{actor.user_id}")
    except Misconfigured as exc:  # Jira refusing the bot's credential: nobody asked, but the admins must hear it
        await deps.alerts.report(exc)
        return False
    except (ValidationError, ChatopsError) as exc:
        log_event(_log, "work object check failed", logging.WARNING, tool=tool_name, error=type(exc).__name__)
        return False
    return decision.outcome == "allow"


async def _ticket(deps: Deps, key: str) -> Ticket | None:
    try:
        return await deps.tickets.get_ticket(key)
    except (NotFound, PermissionDenied):
        return None
    except Misconfigured as exc:
        await deps.alerts.report(exc)
        return None
    except ChatopsError as exc:
        log_event(_log, "ticket lookup failed", logging.WARNING, key=key, error=type(exc).__name__)
        return None


async def _shown_to_channel(deps: Deps, actor: Actor, key: str) -> Ticket | None:
    """The ticket, when `actor` may read it in their channel (what everyone there will see); else None."""
    return await _ticket(deps, key) if await readable(deps, actor, "get_ticket", {"key": key}) else None


async def answer_entities(deps: Deps, actor: Actor, text: str) -> list[dict[str, Any]]:
    """Work Objects for the tickets an answer links or names, decided like a `link_shared` unfurl: by the channel
    the answer is posted in, as the person who asked there (`actor`: their role ∩ the channel's project scope).
    A ticket the channel may not see, or that does not exist, gets no entity (its key stays plain text)."""
    links = answer_ticket_links(text, deps.settings, limit=MAX_LINKS)
    tickets = await asyncio.gather(*(_shown_to_channel(deps, actor, link.key) for link in links))  # one round trip
    entities = []
    for link, ticket in zip(links, tickets, strict=True):
        if ticket is None:
            log_event(_log, "ticket named in an answer not shown here", key=link.key, channel=actor.channel_id, channel_type=actor.channel_type)
            continue
        entities.append(task_entity(ticket, link, product=product_name(link), unfurl=False))
    return entities


def product_name(link: TicketLink) -> str:
    """What the Work Object says the ticket lives in."""
    return "Jira" if link.system == "jira" else "chatops"


def links_of(event: dict[str, Any], surface: Surface) -> list[TicketLink]:
    """The ticket links of a link_shared event (unknown URLs and malformed entries dropped, duplicates once)."""
    raw = event.get("links")
    found: dict[str, TicketLink] = {}
    for item in raw if isinstance(raw, list) else []:
        link = ticket_link(item.get("url") if isinstance(item, dict) else None, surface.deps.settings)
        if link is not None and link.url not in found:
            found[link.url] = link
    return list(found.values())[:MAX_LINKS]


async def unfurl_links(surface: Surface, *, event: dict[str, Any], team_id: str | None) -> int:
    """Unfurl the ticket links this channel may show; returns how many were unfurled."""
    links = links_of(event, surface)
    poster, channel = event.get("user"), event.get("channel")
    if not links or not isinstance(poster, str) or not isinstance(channel, str):
        if event.get("links") and not links:
            log_event(_log, "no ticket links to unfurl", links=len(event.get("links") or []))
        return 0
    composer = event.get("source") == "composer" and event.get("unfurl_id")
    channel_id = None if composer else channel
    kind = await surface.directory.channel_type(channel_id) if channel_id else "unknown"
    actor = Actor(user_id=poster, team_id=team_id, channel_id=channel_id, channel_type=kind)
    entities = []
    for link in links:
        ticket = await _shown_to_channel(surface.deps, actor, link.key)
        if ticket is None:
            log_event(_log, "ticket link not unfurled here", key=link.key, channel=channel, channel_type=kind)
            continue
        entities.append(task_entity(ticket, link, product=product_name(link)))
    if not entities:
        return 0
    where: dict[str, Any] = (
        {"unfurl_id": event["unfurl_id"], "source": event["source"]} if composer else {"channel": channel, "ts": event.get("message_ts")}
    )
    try:
        await surface.client.chat_unfurl(**where, metadata={"entities": entities})
    except SLACK_FAILURES as exc:
        log_event(_log, "chat.unfurl failed", logging.WARNING, channel=channel, error=error_code(exc))
        return 0
    return len(entities)


async def _comments(surface: Surface, actor: Actor, key: str) -> list[Comment]:
    if not await readable(surface.deps, actor, "list_comments", {"key": key}):
        return []
    try:
        page = await surface.deps.tickets.list_comments(key, limit=FLEXPANE_COMMENTS, newest_first=True)
    except ChatopsError as exc:
        log_event(_log, "comments for the flexpane failed", logging.INFO, key=key, error=type(exc).__name__)
        return []
    return list(page.comments)


def requested_link(event: dict[str, Any], surface: Surface) -> TicketLink | None:
    """The ticket an entity_details_requested event is about, when its URL and external_ref agree."""
    link_url = (event.get("link") or {}).get("url") if isinstance(event.get("link"), dict) else None
    for url in (event.get("app_unfurl_url"), link_url, event.get("entity_url")):
        link = ticket_link(url, surface.deps.settings)
        if link is None:
            continue
        ref = event.get("external_ref")
        ref_id = ref.get("id") if isinstance(ref, dict) else None
        if ref_id is not None and str(ref_id).upper() != link.key:
            return None  # the payload contradicts itself: answer nothing rather than guess
        return link
    return None


async def present_details(surface: Surface, *, event: dict[str, Any], team_id: str | None) -> str:
    """Answer one flexpane request for its viewer; returns what was shown ("details", "restricted", "ignored")."""
    trigger, viewer = event.get("trigger_id"), event.get("user")
    link = requested_link(event, surface)
    if not isinstance(trigger, str) or not trigger or not isinstance(viewer, str) or not viewer or link is None:
        log_event(_log, "malformed or unknown flexpane request ignored", logging.WARNING, user=viewer)
        return "ignored"
    actor = Actor(user_id=viewer, team_id=team_id, channel_id=None, channel_type="im")
    ticket = await _ticket(surface.deps, link.key) if await readable(surface.deps, actor, "get_ticket", {"key": link.key}) else None
    try:
        if ticket is None:
            await surface.client.entity_presentDetails(trigger_id=trigger, error={"status": "restricted"})
            log_event(_log, "flexpane restricted", user=viewer, key=link.key)
            return "restricted"
        comments = await _comments(surface, actor, link.key)
        metadata = task_entity(ticket, link, product=product_name(link), details=True, comments=comments, unfurl=False)
        await surface.client.entity_presentDetails(trigger_id=trigger, metadata=metadata)
    except SLACK_FAILURES as exc:
        log_event(_log, "entity.presentDetails failed", logging.WARNING, user=viewer, error=error_code(exc))
        return "failed"
    return "details"


def register_unfurls(app: AsyncApp, surface: Surface) -> None:
    """The link_shared and entity_details_requested listeners."""

    async def on_link_shared(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if context.bot_user_id and event.get("user") == context.bot_user_id:
            log_event(_log, "links in the bot's own message: its Work Objects came with it")
            return
        surface.tasks.spawn(unfurl_links(surface, event=event, team_id=context.team_id), name="unfurl")

    async def on_details(event: dict[str, Any], context: AsyncBoltContext) -> None:
        surface.tasks.spawn(present_details(surface, event=event, team_id=context.team_id), name="flexpane")

    app.event("link_shared")(on_link_shared)
    app.event("entity_details_requested")(on_details)
