"""Channel facts kept current from Slack's own events: the channel-kind cache (bot/slack/identity.py) is updated the
moment a channel changes, not only when its cached kind expires.

- `channel_convert_to_private` / `channel_convert_to_public` (message subtypes, via `message.channels` /
  `message.groups`): the new kind, at once. The middleware reads them before the message listener ignores them.
- `channel_shared`: the channel is now read by another organization → `ext_shared`.
- `channel_unshared`: `is_ext_shared` says whether other organizations still read it; when not, the cached kind is
  dropped and looked up again (public or private).
- `channel_rename` / `group_rename`, `channel_archive` / `group_archive`, `channel_deleted` / `group_deleted`,
  `channel_id_changed`: the cached facts are dropped (a name decides nothing, but nothing stale is kept either);
  the new id of a `channel_id_changed` (a private channel being shared with Slack Connect) is `ext_shared`.

Malformed events are ignored (the shape check ran first); every handler is a dictionary lookup, no Web API call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.logs import get_logger, log_event
from bot.tools.base import ChannelType

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.response import BoltResponse

    from bot.slack.identity import Directory

CONVERSION_SUBTYPES: dict[str, ChannelType] = {
    "channel_convert_to_private": "private",
    "channel_convert_to_public": "public",
}
"""Message subtypes Slack sends when a channel is converted, and the channel's kind afterwards."""
FORGETTING_EVENTS = (
    "channel_rename",
    "group_rename",
    "channel_archive",
    "group_archive",
    "channel_deleted",
    "group_deleted",
    "channel_id_changed",
)
"""Events after which nothing cached about the channel is kept."""
CHANNEL_EVENTS = ("channel_shared", "channel_unshared", *FORGETTING_EVENTS)
"""The channel events the manifest subscribes to (besides the message subtypes)."""
_log = get_logger("slack.channels")


def channel_id_of(event: dict[str, Any]) -> str | None:
    """The channel an event is about: a string id, or the `id` of a channel object (rename events)."""
    channel = event.get("channel")
    if isinstance(channel, dict):
        channel = channel.get("id")
    if event.get("type") == "channel_id_changed":
        channel = event.get("old_channel_id")
    return channel if isinstance(channel, str) and channel else None


def apply_channel_event(directory: Directory, event: Any) -> str | None:
    """Update the cache from one event; what was done (for the log), or None when the event says nothing."""
    if not isinstance(event, dict):
        return None
    kind_of_event = event.get("type")
    channel = channel_id_of(event)
    if channel is None:
        return None
    if kind_of_event == "message":
        subtype = event.get("subtype")
        kind = CONVERSION_SUBTYPES.get(subtype) if isinstance(subtype, str) else None
        if kind is None:
            return None
        directory.remember_channel_type(channel, kind)
        return f"converted: {kind}"
    if kind_of_event == "channel_shared":
        directory.remember_channel_type(channel, "ext_shared")
        return "shared: ext_shared"
    if kind_of_event == "channel_unshared":
        if event.get("is_ext_shared") is True:
            directory.remember_channel_type(channel, "ext_shared")
            return "unshared, still shared: ext_shared"
        directory.forget_channel(channel)
        return "unshared: looked up again"
    if kind_of_event in FORGETTING_EVENTS:
        directory.forget_channel(channel)
        new_id = event.get("new_channel_id")
        if kind_of_event == "channel_id_changed" and isinstance(new_id, str) and new_id:
            # Slack sends it when a private channel is shared with another organization (its id changes)
            directory.remember_channel_type(new_id, "ext_shared")
            return "id changed (shared): ext_shared"
        return f"{kind_of_event}: forgotten"
    return None


def register_channel_events(app: AsyncApp, directory: Directory) -> None:
    """The middleware for conversions, and a listener per channel event (so Slack gets its 200)."""

    @app.middleware
    async def channel_facts(body: dict[str, Any], next_: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        # before the message listener ignores the conversion subtypes; a no-op for every other request
        done = apply_channel_event(directory, body.get("event")) if body.get("type") == "event_callback" else None
        if done is not None:
            log_event(_log, "channel facts updated", channel=channel_id_of(body["event"]), change=done)
        return await next_()

    async def acknowledged(event: dict[str, Any]) -> None:
        """Handled by the middleware above; the listener only makes Bolt answer 200."""

    for name in CHANNEL_EVENTS:
        app.event(name)(acknowledged)
