"""Who is asking, and where: the `Actor` built from what Slack tells us (never from model output).

Name and email come from users.info (scope `users:read.email`), cached in the database for a day; the
channel's type from the event, or conversations.info when the event does not say, cached per process for
CHANNEL_CACHE_TTL only: a channel converted between public and private gets its new scope within minutes, and at
once when a payload states the new type.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.logs import get_logger, log_event
from bot.slack.client import SLACK_FAILURES
from bot.tools.base import Actor, ChannelType

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.deps import Deps

USER_CACHE_TTL = timedelta(hours=24)
CHANNEL_CACHE_TTL = timedelta(minutes=5)
"""How long a channel type from conversations.info is trusted (a conversion changes it; no event is relied on)."""
_CHANNEL_CACHE_MAX = 5_000
_EVENT_CHANNEL_TYPES: dict[str, ChannelType] = {
    "channel": "public",
    "group": "private",
    "im": "im",
    "mpim": "mpim",
    "app_home": "im",
}
_log = get_logger("slack.identity")


def channel_type_from_event(value: str | None, channel_id: str | None = None) -> ChannelType | None:
    """The channel type an event or payload states, if it states one."""
    if value in _EVENT_CHANNEL_TYPES:
        return _EVENT_CHANNEL_TYPES[value]
    # slash commands say it through channel_name
    if value == "directmessage" or (channel_id or "").startswith("D"):
        return "im"
    if value == "privategroup":
        return "private"
    if (value or "").startswith("mpdm-"):
        return "mpim"
    return None


class Directory:
    """Looks people and channels up in Slack, with caches (users in the database, channel types in memory)."""

    def __init__(self, *, client: AsyncWebClient, deps: Deps) -> None:
        self.client = client
        self.deps = deps
        self._channel_types: dict[str, tuple[ChannelType, datetime]] = {}
        """channel id -> (type, when it was learned), by deps.clock."""
        self._team_url: str | None = None

    async def team_url(self) -> str | None:
        """The workspace URL (from auth.test, once), for links to threads."""
        if self._team_url is None:
            try:
                response = await self.client.auth_test()
            except SLACK_FAILURES as exc:
                log_event(_log, "auth.test failed", logging.WARNING, error=error_code(exc))
                return None
            self._team_url = str(response.get("url") or "") or None
        return self._team_url

    async def channel_type(self, channel_id: str) -> ChannelType:
        """The type of a conversation via conversations.info ("unknown" when Slack will not say)."""
        cached = self._channel_types.get(channel_id)
        if cached is not None and self.deps.clock() - cached[1] < CHANNEL_CACHE_TTL:
            return cached[0]
        try:
            response = await self.client.conversations_info(channel=channel_id)
        except SLACK_FAILURES as exc:
            log_event(_log, "conversations.info failed", logging.WARNING, channel=channel_id, error=error_code(exc))
            return "unknown"
        info: dict[str, Any] = response.get("channel") or {}
        kind: ChannelType
        if info.get("is_im"):
            kind = "im"
        elif info.get("is_mpim"):
            kind = "mpim"
        elif info.get("is_private") or info.get("is_group"):
            kind = "private"
        else:
            kind = "public"
        self.remember_channel_type(channel_id, kind)
        return kind

    def remember_channel_type(self, channel_id: str, kind: ChannelType) -> None:
        """Cache a channel's type (from conversations.info, or stated by a verified payload) for CHANNEL_CACHE_TTL."""
        if len(self._channel_types) >= _CHANNEL_CACHE_MAX and channel_id not in self._channel_types:
            self._channel_types.clear()
        self._channel_types[channel_id] = (kind, self.deps.clock())

    async def profile(self, user_id: str) -> tuple[str | None, str | None]:
        """(name, email) of a Slack user: from the database cache, else users.info (then cached)."""
        cached = await self.deps.store.cached_slack_user(user_id, max_age=USER_CACHE_TTL)
        if cached is not None:
            return cached.name, cached.email
        try:
            response = await self.client.users_info(user=user_id)
        except SLACK_FAILURES as exc:
            log_event(_log, "users.info failed", logging.WARNING, user=user_id, error=error_code(exc))
            return None, None
        user: dict[str, Any] = response.get("user") or {}
        profile: dict[str, Any] = user.get("profile") or {}
        name = profile.get("real_name") or user.get("real_name") or profile.get("display_name") or user.get("name")
        email = profile.get("email")
        await self.deps.store.save_slack_user(user_id=user_id, name=name, email=email)
        return name, email

    async def actor(
        self, *, user_id: str, team_id: str | None, channel_id: str | None, channel_kind: str | None = None
    ) -> Actor:
        """The Actor for a Slack request: identity from the verified payload, profile from users.info."""
        kind = channel_type_from_event(channel_kind, channel_id)
        if kind is None:
            kind = await self.channel_type(channel_id) if channel_id else "unknown"
        elif channel_id:
            self.remember_channel_type(channel_id, kind)  # the payload's word is newer than any cached lookup
        name, email = await self.profile(user_id)
        return Actor(user_id=user_id, team_id=team_id, channel_id=channel_id, channel_type=kind, name=name, email=email)


def error_code(exc: Exception) -> str:
    """Slack's error code of a failed call (or the exception's type for transport errors)."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown"))
    return type(exc).__name__
