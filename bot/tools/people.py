"""Who "me" or a name means: the asker comes from Slack (never from the model); names are looked up.

"me"/"my"/"myself" is the asking Slack user, mapped to a person of the ticket system through
`TicketBackend.person_for_user` (linked Slack id, then email). Any other text is searched with `find_people`:
one match is used, several are a Conflict listing the candidates, none is NotFound."""

from __future__ import annotations

from bot.errors import Conflict, NotFound
from bot.messages import tools as tool_text
from bot.tools.base import ToolContext
from integrations.tickets.base import Person

ME_WORDS = frozenset({"me", "my", "myself", "mine", "i"})
NOBODY_WORDS = frozenset({"unassigned", "nobody", "no one", "none"})
_CANDIDATES = 10


def means_me(text: str) -> bool:
    """True when `text` refers to the asker."""
    return text.strip().casefold() in ME_WORDS


def means_nobody(text: str) -> bool:
    """True when `text` means 'no assignee'."""
    return text.strip().casefold() in NOBODY_WORDS


async def current_person(ctx: ToolContext) -> Person | None:
    """The asker's person in the ticket system, or None when they map to nobody (cached on the context)."""
    if ctx.me is None:
        actor = ctx.actor
        ctx.me = await ctx.deps.tickets.person_for_user(slack_user_id=actor.user_id, email=actor.email)
    return ctx.me


async def require_me(ctx: ToolContext) -> Person:
    """The asker's person, or NotFound saying how to fix the mapping."""
    me = await current_person(ctx)
    if me is None:
        raise NotFound(tool_text.me_unknown(ctx.actor.label))
    return me


async def resolve_person(ctx: ToolContext, text: str) -> Person:
    """The one person `text` names: "me", an exact id/name/email, or a unique partial match."""
    query = text.strip()
    if means_me(query):
        return await require_me(ctx)
    found = await ctx.deps.tickets.find_people(query, limit=_CANDIDATES)
    folded = query.casefold()
    exact = [p for p in found if folded in (p.id.casefold(), p.name.casefold(), (p.email or "").casefold())]
    if len(exact) == 1:
        return exact[0]
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFound(tool_text.no_person_matches(query))
    shown = exact or found
    raise Conflict(tool_text.several_people_match(query, [_label(p) for p in shown]))


def _label(person: Person) -> str:
    return f"{person.name} <{person.email}>" if person.email else person.name
