"""Who is asking, and where: the `Actor` built from what Slack tells us (never from model output, never from a name).

Name and email come from users.info (scope `users:read.email`), cached in the database for a day. The kind of a
channel (public, private, DM, group DM, or externally shared: a Slack Connect channel other organizations read)
comes from Slack by id, read by bot/slack_api/channel_kinds.py: the event's `channel_type` with the envelope's
`is_ext_shared_channel`, else conversations.info. A channel's *name* decides nothing (anyone can name a public
channel `directmessage`). Kinds are cached per channel id for CHANNEL_CACHE_TTL, and replaced or forgotten at once
by channel events (bot/slack/channels.py: converted, shared, unshared, renamed, archived). A kind Slack does not
state, or a failed lookup, is "unknown", which the policy scopes as the most public kind (bot/policy/model.py).

A lookup already under way is shared: questions arriving together from the same person or channel (a burst, or
the moment a cached entry expires) wait for one users.info / conversations.info / auth.test, not one each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bot.logs import get_logger, log_event
from bot.slack_api.channel_kinds import channel_type_from_event, channel_type_from_info
from bot.tools.base import Actor, ChannelType
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.deps import Deps

USER_CACHE_TTL = timedelta(hours=24)
CHANNEL_CACHE_TTL = timedelta(minutes=5)
"""How long a channel type from conversations.info is trusted (a conversion changes it; no event is relied on)."""
PROFILE_MEMO_TTL = timedelta(minutes=10)
"""How long a process keeps a person's name and email in memory (a renamed person shows within minutes)."""
_CHANNEL_CACHE_MAX = 5_000
_log = get_logger("slack.identity")
T = TypeVar("T")


class Directory:
    """Looks people and channels up in Slack, with caches (users in the database, channel types in memory)."""

    def __init__(self, *, client: AsyncWebClient, deps: Deps) -> None:
        self.client = client
        self.deps = deps
        self._channel_types: dict[str, tuple[ChannelType, datetime]] = {}
        """channel id -> (type, when it was learned), by deps.clock."""
        self._team_url: str | None = None
        self._profiles: dict[str, tuple[str | None, str | None, datetime]] = {}
        """user id -> (name, email, when it was read), by deps.clock: a turn does not read the database for it."""
        self._inflight: dict[tuple[str, str], asyncio.Future[Any]] = {}
        """Lookups under way, by (kind, id): later askers wait for the same answer."""

    async def _once(self, key: tuple[str, str], lookup: Callable[[], Awaitable[T]]) -> T:
        """`lookup()`, shared with every caller asking for `key` while it runs (one caller cancelled does not
        cancel it for the others)."""
        running = self._inflight.get(key)
        if running is None:
            running = asyncio.ensure_future(lookup())
            self._inflight[key] = running
            running.add_done_callback(lambda done: self._finished(key, done))
        result: T = await asyncio.shield(running)
        return result

    def _finished(self, key: tuple[str, str], done: asyncio.Future[Any]) -> None:
        self._inflight.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have gone (each got it or was cancelled), no warning

    async def team_url(self) -> str | None:
        """The workspace URL (from auth.test, once), for links to threads."""
        if self._team_url is None:
            return await self._once(("team", ""), self._look_up_team_url)
        return self._team_url

    async def _look_up_team_url(self) -> str | None:
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
        return await self._once(("channel", channel_id), lambda: self._look_up_channel_type(channel_id))

    async def _look_up_channel_type(self, channel_id: str) -> ChannelType:
        try:
            response = await self.client.conversations_info(channel=channel_id)
        except SLACK_FAILURES as exc:
            log_event(_log, "conversations.info failed", logging.WARNING, channel=channel_id, error=error_code(exc))
            return "unknown"
        kind = channel_type_from_info(response.get("channel"))
        if kind != "unknown":
            self.remember_channel_type(channel_id, kind)
        return kind

    def forget_channel(self, channel_id: str) -> None:
        """Drop what is cached about a channel (it changed): the next question looks it up again."""
        self._channel_types.pop(channel_id, None)

    def remember_channel_type(self, channel_id: str, kind: ChannelType) -> None:
        """Cache a channel's type (from conversations.info, or stated by a verified payload) for CHANNEL_CACHE_TTL."""
        if len(self._channel_types) >= _CHANNEL_CACHE_MAX and channel_id not in self._channel_types:
            self._channel_types.clear()
        self._channel_types[channel_id] = (kind, self.deps.clock())

    async def profile(self, user_id: str) -> tuple[str | None, str | None]:
        """(name, email) of a Slack user: from memory (PROFILE_MEMO_TTL), the database cache (USER_CACHE_TTL), else
        users.info (then cached)."""
        memo = self._profiles.get(user_id)
        if memo is not None and self.deps.clock() - memo[2] < PROFILE_MEMO_TTL:
            return memo[0], memo[1]
        return await self._once(("user", user_id), lambda: self._look_up_profile(user_id))

    async def _look_up_profile(self, user_id: str) -> tuple[str | None, str | None]:
        cached = await self.deps.store.cached_slack_user(user_id, max_age=USER_CACHE_TTL)
        if cached is not None:
            self._memo(user_id, cached.name, cached.email)
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
        self._memo(user_id, name, email)
        return name, email

    def _memo(self, user_id: str, name: str | None, email: str | None) -> None:
        if len(self._profiles) >= _CHANNEL_CACHE_MAX and user_id not in self._profiles:
            self._profiles.clear()
        self._profiles[user_id] = (name, email, self.deps.clock())

    async def actor(
        self,
        *,
        user_id: str,
        team_id: str | None,
        channel_id: str | None,
        channel_kind: str | None = None,
        ext_shared: bool | None = None,
    ) -> Actor:
        """The Actor for a Slack request: identity from the verified payload, profile from users.info.

        `channel_kind` is an event's `channel_type` and `ext_shared` its envelope's `is_ext_shared_channel`; without
        them (slash commands, shortcuts) the kind is looked up by id."""
        kind: ChannelType | None = channel_type_from_event(channel_kind, ext_shared=ext_shared)
        if kind is None:
            kind = await self.channel_type(channel_id) if channel_id else "unknown"
        elif channel_id:
            self.remember_channel_type(channel_id, kind)  # the payload's word is newer than any cached lookup
        name, email = await self.profile(user_id)
        return Actor(user_id=user_id, team_id=team_id, channel_id=channel_id, channel_type=kind, name=name, email=email)

