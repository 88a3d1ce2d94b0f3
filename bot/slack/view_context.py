"""What the person is viewing in Slack, as data for the first message of a new agent-view thread.

Slack tells the agent which channel (or message) the person has open. Before any of it reaches the model, Slack
itself is asked, by id, whether this person may read that channel: a member of it, or (for a public channel of
this workspace) anyone who is not a guest. Otherwise nothing of the channel is used, not even its name. What is
used goes into the opening message inside the loop's untrusted-data wrapper (`Agent.run_turn(context=...)`), never
as instructions. A lookup that fails counts as "may not read".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.logs import get_logger, log_event
from bot.slack_api.markdown import shorten
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from bot.slack.surface import Surface

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,31}$")
MESSAGE_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")
MEMBER_PAGES = 20
"""conversations.members pages of 1,000 read at most (a bigger channel is treated as not readable)."""
RECENT_MESSAGES = 5
MESSAGE_CHARS = 1_500
_log = get_logger("slack.view_context")


@dataclass(frozen=True)
class Viewed:
    """The channel the person has open, and the message when they have one selected."""

    channel_id: str
    message_ts: str | None = None


def viewed_of(entities: list[dict[str, Any]], *, team_id: str | None) -> Viewed | None:
    """The most relevant channel or message entity of this workspace (malformed ones are skipped)."""
    for entity in entities:
        if team_id and entity.get("team_id") not in (None, "", team_id):
            continue  # another organisation's channel (Slack Connect): not ours to read
        kind, value = entity.get("type"), entity.get("value")
        if kind == "slack#/types/message_context" and isinstance(value, dict):
            channel, ts = value.get("channel_id"), value.get("message_ts")
            if isinstance(channel, str) and CHANNEL_ID.match(channel) and isinstance(ts, str) and MESSAGE_TS.match(ts):
                return Viewed(channel_id=channel, message_ts=ts)
        elif kind == "slack#/types/channel_id" and isinstance(value, str) and CHANNEL_ID.match(value):
            return Viewed(channel_id=value)
    return None


async def _is_guest(surface: Surface, user_id: str) -> bool:
    try:
        response = await surface.client.users_info(user=user_id)
    except SLACK_FAILURES as exc:
        log_event(_log, "users.info failed", logging.WARNING, user=user_id, error=error_code(exc))
        return True
    user: dict[str, Any] = response.get("user") or {}
    return bool(user.get("is_restricted") or user.get("is_ultra_restricted") or user.get("deleted"))


async def _is_member(surface: Surface, channel_id: str, user_id: str) -> bool:
    cursor: str | None = None
    for _ in range(MEMBER_PAGES):
        try:
            response = await surface.client.conversations_members(channel=channel_id, cursor=cursor, limit=1000)
        except SLACK_FAILURES as exc:
            log_event(_log, "conversations.members failed", logging.INFO, channel=channel_id, error=error_code(exc))
            return False
        if user_id in (response.get("members") or []):
            return True
        cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
        if not cursor:
            return False
    return False


async def channel_info(surface: Surface, channel_id: str) -> dict[str, Any] | None:
    """conversations.info of a channel (None when Slack will not say)."""
    try:
        response = await surface.client.conversations_info(channel=channel_id)
    except SLACK_FAILURES as exc:
        log_event(_log, "conversations.info failed", logging.INFO, channel=channel_id, error=error_code(exc))
        return None
    info = response.get("channel")
    return info if isinstance(info, dict) else None


async def may_read(surface: Surface, *, user_id: str, channel_id: str, info: dict[str, Any]) -> bool:
    """Whether Slack says this person may read the channel: a member, or a non-guest for a public channel of this
    workspace that is not shared with another organisation."""
    if info.get("is_im") or info.get("is_mpim"):
        return await _is_member(surface, channel_id, user_id)
    public = info.get("is_channel") and not info.get("is_private") and not info.get("is_group")
    if public and not info.get("is_ext_shared") and not await _is_guest(surface, user_id):
        return True
    return await _is_member(surface, channel_id, user_id)


async def _messages(surface: Surface, viewed: Viewed) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {"channel": viewed.channel_id, "limit": RECENT_MESSAGES}
    if viewed.message_ts:
        kwargs.update(latest=viewed.message_ts, inclusive=True, limit=1)
    try:
        response = await surface.client.conversations_history(**kwargs)
    except SLACK_FAILURES as exc:
        log_event(_log, "conversations.history failed", logging.INFO, channel=viewed.channel_id, error=error_code(exc))
        return []
    found = [m for m in response.get("messages") or [] if isinstance(m, dict)]
    if viewed.message_ts:
        found = [m for m in found if m.get("ts") == viewed.message_ts]
    return list(reversed(found))


def _line(message: dict[str, Any]) -> str:
    who = f"<@{message['user']}>" if isinstance(message.get("user"), str) else "a bot"
    return f"- {who} (ts {message.get('ts')}): {shorten(str(message.get('text') or ''), MESSAGE_CHARS)}"


async def view_context(
    surface: Surface, *, user_id: str, team_id: str | None, entities: list[dict[str, Any]]
) -> str | None:
    """The context text for what the person is viewing, or None (nothing viewed, or not theirs to read)."""
    viewed = viewed_of(entities, team_id=team_id)
    if viewed is None:
        return None
    info = await channel_info(surface, viewed.channel_id)
    if info is None or not await may_read(surface, user_id=user_id, channel_id=viewed.channel_id, info=info):
        log_event(_log, "viewed channel not used: the person may not read it", logging.INFO, user=user_id, channel=viewed.channel_id)
        return None
    name = shorten(str(info.get("name") or viewed.channel_id), 80)
    found = await _messages(surface, viewed)
    if viewed.message_ts:
        head = f"The person is looking at a message in <#{viewed.channel_id}> (#{name}):"
    else:
        head = f"The person is looking at the channel <#{viewed.channel_id}> (#{name})" + (", whose latest messages are:" if found else ".")
    return "\n".join([head, *(_line(m) for m in found)])
