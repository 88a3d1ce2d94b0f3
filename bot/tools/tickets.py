"""The ticket tools: search, get, create, update, transition and assign tickets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Self

from pydantic import Field, model_validator

from bot.messages import tools as tool_text
from bot.tools import results as out
from bot.tools.base import Effect, ToolArgs, ToolContext, tool
from bot.tools.fields import (
    Label,
    LongText,
    PersonRef,
    ProjectKey,
    StatusName,
    Summary,
    TicketKey,
    check_project,
    via,
    visible_ticket,
)
from bot.tools.people import current_person, means_nobody, resolve_person
from integrations.tickets.base import NewTicket, Priority, StatusCategory, TicketChanges, TicketQuery

IssueType = Literal["Task", "Bug", "Story", "Epic"]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class SearchArgs(ToolArgs):
    """Structured filters; every filter given must match."""

    project: ProjectKey | None = None
    """e.g. OPS"""
    status: list[StatusName] = Field(default_factory=list, max_length=5)
    """Exact names, any of them, e.g. ["In Progress", "In Review"]."""
    status_category: list[StatusCategory] = Field(default_factory=list, max_length=3)
    """Any of them; open tickets are ["todo", "in_progress"]."""
    assignee: PersonRef | None = None
    """"me" (the asker), a name or email, or "unassigned"."""
    reporter: PersonRef | None = None
    """"me" (the asker), a name or email."""
    priority: list[Priority] = Field(default_factory=list, max_length=5)
    """Any of them, e.g. ["Highest", "High"] for urgent work."""
    label: Label | None = None
    """Tickets carrying this label."""
    text: str | None = Field(default=None, min_length=2, max_length=200)
    """Plain words (no query language) in summary, description or comments."""
    created_after: date | None = None
    """This day (UTC) or later."""
    created_before: date | None = None
    """Before this day (UTC)."""
    updated_after: date | None = None
    """This day (UTC) or later."""
    updated_before: date | None = None
    """Before this day (UTC)."""
    not_updated_days: int | None = Field(default=None, ge=1, le=365)
    """At least this many days without an update (stale work)."""
    order_by: Literal["updated", "created", "priority", "key"] = "updated"
    """updated / created: newest first; priority: most urgent first; key: ascending."""
    oldest_first: bool = False
    """Reverse the order."""
    limit: int = Field(default=20, ge=1, le=50)
    """Tickets per page."""
    page_token: str | None = Field(default=None, max_length=500)
    """next_page_token of the previous page (same filters)."""

    @model_validator(mode="after")
    def _windows(self) -> Self:
        for name in ("created", "updated"):
            after, before = getattr(self, f"{name}_after"), getattr(self, f"{name}_before")
            if after is not None and before is not None and after >= before:
                raise ValueError(f"{name}_after must be a day before {name}_before")
        return self


@tool(name="search_tickets", effect=Effect.READ, args=SearchArgs, project_fields=("project",))
async def search_tickets(ctx: ToolContext, args: SearchArgs) -> dict[str, object]:
    """The `search_tickets` tool; what the model reads about it is prompts/tools/search_tickets.md."""
    query = await _query(ctx, args)
    if query is None:
        return {"count": 0, "note": tool_text.nothing_visible_here()}
    page = await ctx.deps.tickets.search_tickets(query, page_token=args.page_token)
    visible = ctx.visible_projects
    tickets = [t for t in page.tickets if visible is None or t.project in visible]  # defence in depth
    result: dict[str, object] = {"count": len(tickets), "tickets": [out.ticket_brief(t) for t in tickets]}
    if page.next_page_token:
        result["next_page_token"] = page.next_page_token
    if not tickets:
        result["note"] = tool_text.no_search_matches()
        if (
            args.project
            and visible is None
            and args.project not in {p.key for p in await ctx.deps.tickets.list_projects()}
        ):
            result["note"] = tool_text.project_not_available(args.project)
    return out.fit_list(result, "tickets", out.budget(ctx), hint="Narrow the filters or lower the limit.")


async def _query(ctx: ToolContext, args: SearchArgs) -> TicketQuery | None:
    """The backend query for `args`, restricted to the visible projects; None when nothing is visible."""
    if args.project:
        check_project(ctx, args.project)
        projects: tuple[str, ...] = (args.project,)
    elif ctx.visible_projects is not None:
        if not ctx.visible_projects:
            return None
        projects = tuple(sorted(ctx.visible_projects))
    else:
        projects = ()
    assignee_ids: tuple[str, ...] = ()
    unassigned = False
    if args.assignee is not None:
        if means_nobody(args.assignee):
            unassigned = True
        else:
            assignee_ids = ((await resolve_person(ctx, args.assignee)).id,)
    reporter_ids = ((await resolve_person(ctx, args.reporter)).id,) if args.reporter else ()
    updated_before = _day_start(args.updated_before) if args.updated_before else None
    if args.not_updated_days is not None:
        # Whole hours, so the query (and the page tokens tied to it) stays the same while the user pages.
        stale_since = (ctx.deps.clock() - timedelta(days=args.not_updated_days)).replace(
            minute=0, second=0, microsecond=0
        )
        updated_before = min(updated_before, stale_since) if updated_before else stale_since
    natural_desc = args.order_by != "key"
    return TicketQuery(
        projects=projects,
        statuses=tuple(args.status),
        status_categories=tuple(args.status_category),
        assignee_ids=assignee_ids,
        unassigned=unassigned,
        reporter_ids=reporter_ids,
        priorities=tuple(p.value for p in args.priority),
        labels=(args.label,) if args.label else (),
        text=args.text,
        created_after=_day_start(args.created_after) if args.created_after else None,
        created_before=_day_start(args.created_before) if args.created_before else None,
        updated_after=_day_start(args.updated_after) if args.updated_after else None,
        updated_before=updated_before,
        order_by=args.order_by,
        descending=natural_desc != args.oldest_first,
        limit=args.limit,
    )


class KeyArgs(ToolArgs):
    """One ticket."""

    key: TicketKey
    """e.g. OPS-12"""


@tool(name="get_ticket", effect=Effect.READ, args=KeyArgs, ticket_key_fields=("key",))
async def get_ticket(ctx: ToolContext, args: KeyArgs) -> dict[str, object]:
    """The `get_ticket` tool; what the model reads about it is prompts/tools/get_ticket.md."""
    ticket = await visible_ticket(ctx, args.key)
    return out.fit_text(out.ticket_detail(ticket), "description", out.budget(ctx))


class CreateArgs(ToolArgs):
    """A new ticket."""

    project: ProjectKey
    """e.g. OPS"""
    summary: Summary
    """A one-line title."""
    description: LongText = ""
    """Details in Markdown: what happened, impact, links, steps."""
    issue_type: IssueType = "Task"
    """The ticket's type."""
    priority: Priority | None = None
    """Leave empty unless the user states or clearly implies one."""
    labels: list[Label] = Field(default_factory=list, max_length=10)
    """Labels to add."""
    assignee: PersonRef | None = None
    """"me" (the asker), a name or email."""


@tool(name="create_ticket", effect=Effect.WRITE, args=CreateArgs, project_fields=("project",))
async def create_ticket(ctx: ToolContext, args: CreateArgs) -> dict[str, object]:
    """The `create_ticket` tool; what the model reads about it is prompts/tools/create_ticket.md."""
    check_project(ctx, args.project)
    assignee = None
    if args.assignee and not means_nobody(args.assignee):
        assignee = await resolve_person(ctx, args.assignee)
    new = NewTicket(
        project=args.project,
        summary=args.summary,
        description=args.description,
        issue_type=args.issue_type,
        priority=args.priority.value if args.priority else None,
        labels=tuple(args.labels),
        assignee_id=assignee.id if assignee else None,
    )
    ticket = await ctx.deps.tickets.create_ticket(new, reporter=await current_person(ctx), via=via(ctx))
    return {"created": out.clean({**out.ticket_brief(ticket), "url": ticket.url})}


class UpdateArgs(ToolArgs):
    """The fields to change; at least one. Fields left out stay as they are."""

    key: TicketKey
    """e.g. OPS-12"""
    summary: Summary | None = None
    """A new one-line title."""
    description: LongText | None = None
    """The complete new description."""
    priority: Priority | None = None
    """A new priority."""
    labels: list[Label] | None = Field(default=None, max_length=10)
    """The complete new set; [] removes all."""

    @model_validator(mode="after")
    def _something(self) -> Self:
        if (
            self.summary is None
            and self.description is None
            and self.priority is None
            and self.labels is None
        ):
            raise ValueError("give at least one of summary, description, priority, labels")
        return self


@tool(name="update_ticket", effect=Effect.WRITE, args=UpdateArgs, ticket_key_fields=("key",))
async def update_ticket(ctx: ToolContext, args: UpdateArgs) -> dict[str, object]:
    """The `update_ticket` tool; what the model reads about it is prompts/tools/update_ticket.md."""
    before = await visible_ticket(ctx, args.key)
    changes = TicketChanges(
        summary=args.summary,
        description=args.description,
        priority=args.priority.value if args.priority else None,
        labels=tuple(args.labels) if args.labels is not None else None,
    )
    after = await ctx.deps.tickets.update_ticket(args.key, changes, actor=await current_person(ctx))
    changed = {
        field: getattr(after, field)
        for field in ("summary", "priority", "labels", "description")
        if getattr(after, field) != getattr(before, field)
    }
    if "description" in changed:
        changed["description"] = out.clip(after.description, 300)
    return {"updated": after.key, "changed": out.clean(changed) or "nothing (the values were already set)"}


class TransitionArgs(ToolArgs):
    """A workflow move."""

    key: TicketKey
    """e.g. OPS-12"""
    status: StatusName
    """The status to move to, e.g. "In Progress", "Blocked", "Done", or "To Do" to reopen."""


@tool(name="transition_ticket", effect=Effect.WRITE, args=TransitionArgs, ticket_key_fields=("key",))
async def transition_ticket(ctx: ToolContext, args: TransitionArgs) -> dict[str, object]:
    """The `transition_ticket` tool; what the model reads about it is prompts/tools/transition_ticket.md."""
    before = await visible_ticket(ctx, args.key)
    after = await ctx.deps.tickets.transition_ticket(args.key, args.status, actor=await current_person(ctx))
    return {"key": after.key, "status": after.status, "was": before.status}


class AssignArgs(ToolArgs):
    """Who should own the ticket."""

    key: TicketKey
    """e.g. OPS-12"""
    assignee: PersonRef | None
    """"me" (the asker), a name, email or id; null (or "unassigned") to unassign."""


@tool(name="assign_ticket", effect=Effect.WRITE, args=AssignArgs, ticket_key_fields=("key",))
async def assign_ticket(ctx: ToolContext, args: AssignArgs) -> dict[str, object]:
    """The `assign_ticket` tool; what the model reads about it is prompts/tools/assign_ticket.md."""
    before = await visible_ticket(ctx, args.key)
    person = None
    if args.assignee is not None and not means_nobody(args.assignee):
        person = await resolve_person(ctx, args.assignee)
    after = await ctx.deps.tickets.assign_ticket(
        args.key, person.id if person else None, actor=await current_person(ctx)
    )
    return {
        "key": after.key,
        "assignee": out.name_of(after.assignee) or "unassigned",
        "was": out.name_of(before.assignee) or "unassigned",
    }
