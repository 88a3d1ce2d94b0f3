"""Summary tools: summarize_ticket (one ticket condensed; the model writes it when the discussion is long,
cached until the ticket changes) and workload_digest (counts, stale, blocked and urgent work of a project or
person).

The data gathering and condensing are plain functions of the backend (`gather_ticket`, `condense`,
`build_digest`), so the scheduler can reuse them without a tool context."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from bot.errors import Misconfigured, ModelError, ModelNotFound
from bot.logs import get_logger
from bot.messages import tools as tool_text
from bot.tools import results as out
from bot.tools.base import Effect, ToolArgs, ToolContext, tool
from bot.tools.fields import PersonRef, ProjectKey, TicketKey, check_project, visible_ticket
from bot.tools.people import means_nobody, resolve_person
from bot.tools.summary_cache import SummaryCache
from integrations.llm.base import Message, TextBlock
from integrations.tickets.base import Change, Comment, Ticket, TicketBackend, TicketQuery
from integrations.tickets.workflow import HIGH_PRIORITIES
from prompts import load_prompt

MODEL_THRESHOLD = 20
"""A ticket with more comments than this is summarized by the model."""
HISTORY_LIMIT = 50
"""Field changes read per ticket (the newest)."""
MAX_COMMENTS = 300
"""Comments read for a model summary (the newest, when there are more)."""
_MODEL_INPUT_CHARS = 60_000
_SUMMARY_TOKENS = 600
_MODEL_SHARE_OF_TIMEOUT = 0.75

_log = get_logger("tools.summaries")


# ---------------------------------------------------------------- one ticket


@dataclass
class TicketFacts:
    """A ticket with its history and (the newest of) its comments, oldest first."""

    ticket: Ticket
    history: list[Change]
    comments: list[Comment]


async def gather_ticket(backend: TicketBackend, ticket: Ticket, *, max_comments: int) -> TicketFacts:
    """Read the history and up to `max_comments` of the newest comments of `ticket`."""
    history = await backend.history(ticket.key, limit=HISTORY_LIMIT)
    comments: list[Comment] = []
    token: str | None = None
    while len(comments) < max_comments:
        page = await backend.list_comments(
            ticket.key, limit=min(100, max_comments - len(comments)), page_token=token, newest_first=True
        )
        comments += page.comments
        token = page.next_page_token
        if token is None or not page.comments:
            break
    return TicketFacts(ticket=ticket, history=history, comments=comments[::-1])


def _days(delta: timedelta) -> str:
    days = int(delta.total_seconds() // 86400)
    return "today" if days == 0 else "1 day ago" if days == 1 else f"{days} days ago"


def condense(facts: TicketFacts, *, now: datetime) -> dict[str, Any]:
    """A deterministic condensation: where it stands, its status path, who discussed it, latest comments."""
    t = facts.ticket
    moves = [c for c in facts.history if c.field.lower() == "status"]
    since = moves[-1].at if moves else t.created
    owner = out.name_of(t.assignee) or "nobody"
    standing = f"{t.status} since {out.when(since)[:10]} ({_days(now - since)}); assigned to {owner}"
    if t.priority:
        standing += f"; priority {t.priority}"
    if len(facts.history) >= HISTORY_LIMIT:  # older changes were not read: the path starts mid-way
        path = ["…"] if moves else []
    else:
        path = [f"{moves[0].from_value} ({out.when(t.created)[:10]})"] if moves else []
    path += [f"{m.to_value} ({out.when(m.at)[:10]})" for m in moves]
    owners = [
        f"{c.to_value or 'unassigned'} ({out.when(c.at)[:10]})"
        for c in facts.history
        if c.field.lower() == "assignee"
    ]
    voices = Counter(out.name_of(c.author) or "unknown" for c in facts.comments)
    return out.clean(
        {
            "where_it_stands": standing,
            "last_update": _days(now - t.updated),
            "status_path": " → ".join(path),
            "assignee_changes": " → ".join(owners),
            "description": out.clip(t.description, 400),
            "discussion": _discussion(t.comment_count, voices),
            "latest_comments": [out.comment_view(c, body_chars=300) for c in facts.comments[-5:]],
        }
    )


def _discussion(total: int, voices: Counter[str]) -> str | None:
    if not voices:
        return None
    read = sum(voices.values())
    who = ", ".join(f"{name} ({n})" for name, n in voices.most_common())
    return f"{total} comments by {who}" if read >= total else f"{total} comments; the newest {read} by {who}"


def _change_line(change: Change) -> str:
    who = out.name_of(change.author) or "someone"
    values = f"{change.from_value or '-'} -> {change.to_value or '-'}"
    return f"- {out.when(change.at)} {who}: {change.field} {values}"


def render_for_model(facts: TicketFacts) -> str:
    """The ticket as delimited, untrusted text for the summary model (newest comments kept when too long)."""
    t = facts.ticket
    head = [
        f"Ticket {t.key}: {t.summary}",
        f"Type {t.issue_type}; status {t.status}; priority {t.priority or 'none'}",
        f"Assignee {out.name_of(t.assignee) or 'nobody'}; reporter {out.name_of(t.reporter) or 'unknown'}",
        f"Created {out.when(t.created)}; updated {out.when(t.updated)}",
        f"Labels {', '.join(t.labels) or 'none'}",
        "Description:",
        out.clip(t.description, 4000) or "(empty)",
        "History:",
        *(_change_line(c) for c in facts.history),
        f"Comments ({t.comment_count} in total, oldest first):",
    ]
    budget = _MODEL_INPUT_CHARS - sum(len(line) + 1 for line in head)
    lines: list[str] = []
    for c in reversed(facts.comments):  # newest first, so the budget keeps the latest discussion
        line = f"- {out.when(c.created)} {out.name_of(c.author) or 'unknown'}: {out.clip(c.body, 2000)}"
        if budget - len(line) < 0:
            lines.append(f"- ({t.comment_count - len(lines)} older comments left out)")
            break
        budget -= len(line) + 1
        lines.append(line)
    body = "\n".join(head + lines[::-1]).replace("</ticket_data", "<\\/ticket_data")
    return f"<ticket_data>\n{body}\n</ticket_data>"


def fingerprint(ticket: Ticket) -> str:
    """Changes whenever the ticket or its discussion changes (or the summary prompt does)."""
    prompt = hashlib.sha256(load_prompt("ticket_summary").encode()).hexdigest()[:8]
    return f"{ticket.updated.isoformat()}|{ticket.comment_count}|{prompt}"


class SummarizeArgs(ToolArgs):
    """The ticket to summarize."""

    key: TicketKey
    """e.g. OPS-12"""


@tool(name="summarize_ticket", effect=Effect.READ, args=SummarizeArgs, ticket_key_fields=("key",))
async def summarize_ticket(ctx: ToolContext, args: SummarizeArgs) -> dict[str, Any]:
    """The `summarize_ticket` tool; what the model reads about it is prompts/tools/summarize_ticket.md."""
    ticket = await visible_ticket(ctx, args.key)
    deps = ctx.deps
    use_model = ticket.comment_count > MODEL_THRESHOLD and deps.llm is not None
    cache = SummaryCache(deps.db, clock=deps.clock)
    cache_key, current = f"ticket:{deps.tickets.name}:{ticket.key}", fingerprint(ticket)
    text = await cache.get(cache_key, current) if use_model else None
    source = "model (cached)"
    # Read the whole discussion only when the model is going to write a new summary.
    need_all = use_model and text is None
    facts = await gather_ticket(
        deps.tickets, ticket, max_comments=MAX_COMMENTS if need_all else MODEL_THRESHOLD
    )
    if need_all:
        text, source = await _model_summary(ctx, facts), "model"
        if text is not None:
            await cache.put(cache_key, current, text)
    result: dict[str, Any] = {"ticket": out.ticket_brief(ticket)}
    if text is not None:
        result |= {"summary": text, "summary_by": source}
    result |= condense(facts, now=deps.clock())
    if text is not None:
        result.pop("description", None)  # the summary covers it
    elif use_model:
        result["note"] = tool_text.model_summary_unavailable()
    return out.fit_list(result, "latest_comments", out.budget(ctx), hint="Use list_comments to read them.")


def _for_summaries(ctx: ToolContext, exc: Misconfigured) -> Misconfigured:
    """An unknown summary model names the setting that chose it."""
    model = ctx.deps.settings.chatops_summary_model
    if isinstance(exc, ModelNotFound) and model:
        return ModelNotFound(
            f"the model API does not know the model {model!r}: check CHATOPS_SUMMARY_MODEL",
            problem=f"model.not_found:{model}",
            detail=exc.detail,
        )
    return exc


async def _model_summary(ctx: ToolContext, facts: TicketFacts) -> str | None:
    """The model's summary, or None when the model fails or returns nothing (the caller condenses instead)."""
    assert ctx.deps.llm is not None
    request = ctx.deps.llm.complete(
        system=load_prompt("ticket_summary"),
        messages=[Message(role="user", content=[TextBlock(text=render_for_model(facts))])],
        tools=[],
        max_tokens=_SUMMARY_TOKENS,
        model=ctx.deps.settings.chatops_summary_model or ctx.deps.settings.chatops_model,
    )
    # Leave part of the tool's time limit for the fallback, so a slow model still yields a condensed answer.
    limit = ctx.deps.settings.chatops_tool_timeout_seconds * _MODEL_SHARE_OF_TIMEOUT
    try:
        response = await asyncio.wait_for(request, limit)
    except (ModelError, TimeoutError) as exc:
        _log.warning("ticket summary model call failed", extra={"fields": {"error": type(exc).__name__}})
        if isinstance(exc, Misconfigured):  # the asker still gets a condensed ticket; the admins hear what to fix
            await ctx.deps.alerts.report(_for_summaries(ctx, exc), asker=ctx.actor.user_id, channel=ctx.actor.channel_id)
        return None
    text = response.message.text.strip()
    if response.stop_reason == "refusal" or not text:
        return None
    return text


# ---------------------------------------------------------------- workload digest


@dataclass
class Digest:
    """Open work of a project or person at one moment."""

    scope: str
    now: datetime
    stale_days: int
    open_total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_priority: dict[str, int] = field(default_factory=dict)
    stale: list[Ticket] = field(default_factory=list)
    blocked: list[Ticket] = field(default_factory=list)
    high_priority: list[Ticket] = field(default_factory=list)
    done_recently: int = 0
    truncated: bool = False
    """True when there were more open tickets than were read (counts cover the ones read)."""


MAX_DIGEST_TICKETS = 500


async def build_digest(
    backend: TicketBackend,
    *,
    project: str | None,
    assignee_id: str | None,
    now: datetime,
    stale_days: int = 7,
    unassigned: bool = False,
    within: frozenset[str] | None = None,
    scope: str = "",
) -> Digest:
    """Counts by status and priority; stale (no update for `stale_days`), blocked and high-priority tickets.

    `within` restricts to these projects (the asker's visible ones); `project` narrows further."""
    projects = (project,) if project else tuple(sorted(within)) if within is not None else ()
    who = {"assignee_ids": (assignee_id,) if assignee_id else (), "unassigned": unassigned}
    digest = Digest(scope=scope or ", ".join(projects) or "all projects", now=now, stale_days=stale_days)
    if within is not None and not projects:
        return digest
    open_query = TicketQuery(
        projects=projects,
        status_categories=("todo", "in_progress"),
        order_by="updated",
        descending=False,
        limit=100,
        **who,
    )
    tickets: list[Ticket] = []
    token: str | None = None
    while len(tickets) < MAX_DIGEST_TICKETS:
        page = await backend.search_tickets(open_query, page_token=token)
        tickets += page.tickets
        token = page.next_page_token
        if token is None:
            break
    digest.truncated = token is not None
    stale_before = now - timedelta(days=stale_days)
    digest.open_total = len(tickets)
    digest.by_status = dict(Counter(t.status for t in tickets).most_common())
    digest.by_priority = dict(Counter(t.priority or "None" for t in tickets).most_common())
    digest.stale = [t for t in tickets if t.updated < stale_before]
    digest.blocked = [t for t in tickets if "block" in t.status.casefold()]
    digest.high_priority = [t for t in tickets if t.priority in HIGH_PRIORITIES]
    done = await backend.search_tickets(
        TicketQuery(
            projects=projects, status_categories=("done",), updated_after=stale_before, limit=100, **who
        )
    )
    digest.done_recently = len(done.tickets)
    return digest


def digest_result(digest: Digest, *, items: int = 10) -> dict[str, Any]:
    """The digest as a compact tool result: counts, and up to `items` tickets per list (stalest first)."""

    def listed(tickets: list[Ticket]) -> list[dict[str, Any]]:
        return [out.ticket_brief(t) for t in sorted(tickets, key=lambda t: t.updated)[:items]]

    return out.clean(
        {
            "scope": digest.scope,
            "open": digest.open_total,
            "by_status": digest.by_status,
            "by_priority": digest.by_priority,
            f"done_last_{digest.stale_days}_days": digest.done_recently,
            "stale_count": len(digest.stale),
            "stale": listed(digest.stale),
            "blocked_count": len(digest.blocked),
            "blocked": listed(digest.blocked),
            "high_priority_count": len(digest.high_priority),
            "high_priority": listed(digest.high_priority),
            "note": f"Only the first {digest.open_total} open tickets were read."
            if digest.truncated
            else None,
        }
    )


class DigestArgs(ToolArgs):
    """Whose work to digest; both may be given, neither means every project visible here."""

    project: ProjectKey | None = None
    """e.g. OPS"""
    assignee: PersonRef | None = None
    """"me" (the asker), a name or email, or "unassigned"."""
    stale_days: int = Field(default=7, ge=1, le=90)
    """Days without an update that make a ticket stale."""


@tool(name="workload_digest", effect=Effect.READ, args=DigestArgs, project_fields=("project",))
async def workload_digest(ctx: ToolContext, args: DigestArgs) -> dict[str, Any]:
    """The `workload_digest` tool; what the model reads about it is prompts/tools/workload_digest.md."""
    if args.project:
        check_project(ctx, args.project)
    assignee_id, unassigned, who = None, False, ""
    if args.assignee:
        if means_nobody(args.assignee):
            unassigned, who = True, "unassigned"
        else:
            person = await resolve_person(ctx, args.assignee)
            assignee_id, who = person.id, person.name
    scope = " / ".join(part for part in (args.project or "", who) if part)
    digest = await build_digest(
        ctx.deps.tickets,
        project=args.project,
        assignee_id=assignee_id,
        unassigned=unassigned,
        now=ctx.deps.clock(),
        stale_days=args.stale_days,
        within=ctx.visible_projects,
        scope=scope,
    )
    result = digest_result(digest)
    for name in ("high_priority", "blocked", "stale"):
        total = len(getattr(digest, name))
        hint = "Use search_tickets to list them."
        result = out.fit_list(result, name, out.budget(ctx), note=f"{name}_note", total=total, hint=hint)
    return result
