"""Comment tools: list_comments (the newest first, shown in time order) and add_comment."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.tools import results as out
from bot.tools.base import Effect, ToolArgs, ToolContext, tool
from bot.tools.fields import TicketKey, via, visible_ticket
from bot.tools.people import current_person


class ListCommentsArgs(ToolArgs):
    """Which ticket's discussion to read."""

    key: TicketKey
    """e.g. OPS-12"""
    limit: int = Field(default=10, ge=1, le=50)
    """How many of the newest comments."""
    page_token: str | None = Field(default=None, max_length=500)
    """next_page_token of the previous page (older comments)."""


@tool(name="list_comments", effect=Effect.READ, args=ListCommentsArgs, ticket_key_fields=("key",))
async def list_comments(ctx: ToolContext, args: ListCommentsArgs) -> dict[str, object]:
    """The `list_comments` tool; what the model reads about it is prompts/tools/list_comments.md."""
    ticket = await visible_ticket(ctx, args.key)
    page = await ctx.deps.tickets.list_comments(
        ticket.key, limit=args.limit, page_token=args.page_token, newest_first=True
    )
    result: dict[str, Any] = {
        "key": ticket.key,
        "total": page.total,
        "comments": [out.comment_view(c) for c in page.comments],  # newest first: a cut drops the oldest
    }
    if page.next_page_token:
        result["older_page_token"] = page.next_page_token
    total = page.total if page.total is not None else len(page.comments)
    result = out.fit_list(result, "comments", out.budget(ctx), total=total, hint="Ask for fewer (limit).")
    result["comments"] = result["comments"][::-1]  # shown in time order
    return result


class AddCommentArgs(ToolArgs):
    """The comment to add."""

    key: TicketKey
    """e.g. OPS-12"""
    body: str = Field(min_length=1, max_length=8000)
    """Markdown, as the user wants it posted."""


@tool(name="add_comment", effect=Effect.WRITE, args=AddCommentArgs, ticket_key_fields=("key",))
async def add_comment(ctx: ToolContext, args: AddCommentArgs) -> dict[str, object]:
    """The `add_comment` tool; what the model reads about it is prompts/tools/add_comment.md."""
    ticket = await visible_ticket(ctx, args.key)
    me = await current_person(ctx)
    comment = await ctx.deps.tickets.add_comment(ticket.key, args.body, author=me, via=via(ctx))
    return {"key": ticket.key, "comment_id": comment.id, "author": out.name_of(comment.author) or via(ctx)}
