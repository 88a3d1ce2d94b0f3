"""The `read_slack_thread` tool: the messages of the Slack thread the question was asked in, and only that one.

Channel and thread come from the verified Slack request (`ToolContext`), never from the model, so the model can
read nothing the asker cannot see in that conversation. The messages are returned as data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field
from slack_sdk.errors import SlackApiError

from bot.errors import Conflict, NotFound, PermissionDenied, RateLimited, Unavailable
from bot.tools.base import Effect, ToolArgs, ToolContext, tool
from integrations.slack.failures import SLACK_FAILURES

MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 2_000
_PAGE = 100
_USER_CACHE_AGE = timedelta(days=30)
"""Names in a thread are for reading only; an old cached name beats a users.info call per author."""
_SKIPPED_SUBTYPES = frozenset({"channel_join", "channel_leave", "group_join", "group_leave", "message_deleted"})


class ReadSlackThreadArgs(ToolArgs):
    """No target: always the thread the question was asked in."""

    limit: int = Field(default=50, ge=1, le=MAX_MESSAGES)
    """Messages to read, oldest first (the first message is always included)."""


def _map_error(exc: Exception) -> Exception:
    if isinstance(exc, SlackApiError):
        code = str(exc.response.get("error", ""))
        if code in ("channel_not_found", "thread_not_found", "message_not_found"):
            return NotFound("This Slack thread cannot be found (it may have been deleted).")
        if code in ("not_in_channel", "missing_scope", "access_denied"):
            return PermissionDenied("The bot cannot read this conversation (it is not a member, or lacks a scope).")
        if code == "ratelimited":
            retry = exc.response.headers.get("Retry-After") if exc.response.headers else None
            return RateLimited("Slack is rate limiting thread reads.", retry_after=float(retry) if retry else None)
        return Unavailable(f"Slack answered {code or 'an error'} when reading the thread.")
    return Unavailable("Slack could not be reached to read the thread.")


async def _author(ctx: ToolContext, message: dict[str, Any], names: dict[str, str]) -> str:
    if message.get("bot_id") or message.get("subtype") == "bot_message":
        return message.get("username") or "a bot"
    user = message.get("user")
    if not user:
        return "unknown"
    if user not in names:
        cached = await ctx.deps.store.cached_slack_user(user, max_age=_USER_CACHE_AGE)
        names[user] = (cached.name if cached and cached.name else None) or user
    return names[user]


@tool(name="read_slack_thread", effect=Effect.READ, args=ReadSlackThreadArgs)
async def read_slack_thread(ctx: ToolContext, args: ReadSlackThreadArgs) -> dict[str, Any]:
    """The `read_slack_thread` tool; what the model reads about it is prompts/tools/read_slack_thread.md."""
    client = ctx.deps.slack
    channel, thread_ts = ctx.actor.channel_id, ctx.thread_ts
    if client is None or not channel or not thread_ts or not thread_ts.replace(".", "").isdigit():
        raise Conflict("There is no Slack thread here to read (this conversation is not a Slack thread).")
    collected: list[dict[str, Any]] = []
    cursor: str | None = None
    try:
        while len(collected) < args.limit:
            response = await client.conversations_replies(
                channel=channel, ts=thread_ts, limit=min(_PAGE, args.limit - len(collected)), cursor=cursor
            )
            collected.extend(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or not cursor:
                break
    except SLACK_FAILURES as exc:
        raise _map_error(exc) from exc
    names: dict[str, str] = {}
    out = []
    for message in collected[: args.limit]:
        if message.get("subtype") in _SKIPPED_SUBTYPES:
            continue
        text = str(message.get("text") or "")
        entry: dict[str, Any] = {"ts": message.get("ts"), "author": await _author(ctx, message, names)}
        entry["text"] = text[:MAX_MESSAGE_CHARS] + ("… [cut]" if len(text) > MAX_MESSAGE_CHARS else "")
        if message.get("files"):
            entry["files"] = len(message["files"])
        out.append(entry)
    return {"thread_ts": thread_ts, "messages": out, "more": bool(cursor)}
