"""Argument types shared by the ticket tools, and the visibility checks every ticket tool applies.

Keys are validated by pattern (upper-cased first, so "ops-12" works); a ticket outside the asker's visible
projects is reported exactly like a ticket that does not exist, so a denial never reveals that something
exists."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from bot import messages
from bot.errors import NotFound
from bot.tools.base import ToolContext
from integrations.tickets.base import Ticket

KEY_PATTERN = r"^[A-Z][A-Z0-9]{1,9}-[1-9][0-9]*$"
PROJECT_PATTERN = r"^[A-Z][A-Z0-9]{1,9}$"


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


# The validator comes after Field so it runs first (upper-casing) and the pattern still shows in the schema.
TicketKey = Annotated[str, Field(pattern=KEY_PATTERN, max_length=24), BeforeValidator(_upper)]
ProjectKey = Annotated[str, Field(pattern=PROJECT_PATTERN), BeforeValidator(_upper)]
PersonRef = Annotated[str, Field(min_length=1, max_length=120)]
Label = Annotated[str, Field(pattern=r"^\S{1,50}$")]
Summary = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\r\n]+$")]
LongText = Annotated[str, Field(max_length=8000)]
StatusName = Annotated[str, Field(min_length=1, max_length=60)]


async def visible_ticket(ctx: ToolContext, key: str) -> Ticket:
    """The ticket, or NotFound when it does not exist or lies outside the projects visible here."""
    try:
        ticket = await ctx.deps.tickets.get_ticket(key)
    except NotFound:
        raise NotFound(messages.no_ticket(key)) from None
    if ctx.visible_projects is not None and ticket.project not in ctx.visible_projects:
        raise NotFound(messages.no_ticket(key))
    return ticket


def check_project(ctx: ToolContext, project: str) -> None:
    """NotFound (worded like an unknown project) when `project` is not visible here."""
    if ctx.visible_projects is not None and project not in ctx.visible_projects:
        raise NotFound(messages.project_not_available(project))


def via(ctx: ToolContext) -> str:
    """The attribution line written with every change."""
    return f"via Slack by {ctx.actor.label}"
