"""Argument types shared by the ticket tools, and the visibility checks every ticket tool applies.

Keys are validated by the shared definition (integrations/tickets/keys.py; upper-cased first, so "ops-12" works); a
ticket outside the asker's visible projects is reported exactly like a ticket that does not exist, so a denial never reveals that something
exists."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from bot.errors import NotFound
from bot.messages import tools as tool_text
from bot.tools.base import ToolContext
from integrations.tickets import keys
from integrations.tickets.base import Ticket

# The validator comes after Field so it runs first (upper-casing). Both come from integrations/tickets/keys.py, the one
# definition the slash commands and the JQL builder use too; the schema shows the model its shorter *_SHAPE.
TicketKey = Annotated[
    str,
    Field(pattern=keys.TICKET_KEY_PATTERN, max_length=keys.MAX_TICKET_KEY_CHARS),
    BeforeValidator(keys.canonical),
    WithJsonSchema({"type": "string", "pattern": keys.TICKET_KEY_SHAPE}),
]
ProjectKey = Annotated[
    str,
    Field(pattern=keys.PROJECT_KEY_PATTERN, max_length=keys.MAX_PROJECT_KEY_CHARS),
    BeforeValidator(keys.canonical),
    WithJsonSchema({"type": "string", "pattern": keys.PROJECT_KEY_SHAPE}),
]
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
        raise NotFound(tool_text.no_ticket(key)) from None
    if ctx.visible_projects is not None and ticket.project not in ctx.visible_projects:
        raise NotFound(tool_text.no_ticket(key))
    return ticket


def check_project(ctx: ToolContext, project: str) -> None:
    """NotFound (worded like an unknown project) when `project` is not visible here."""
    if ctx.visible_projects is not None and project not in ctx.visible_projects:
        raise NotFound(tool_text.project_not_available(project))


def via(ctx: ToolContext) -> str:
    """The attribution line written with every change."""
    return f"via Slack by {ctx.actor.label}"
