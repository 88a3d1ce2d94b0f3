"""The kind of a channel as Slack states it, by id: public, private, DM, group DM, or externally shared (a Slack
Connect channel other organizations read). A channel's *name* decides nothing. A kind Slack does not state is
"unknown", which the policy scopes as the most public kind (bot/policy/model.py). The Slack surface
(bot/slack/identity.py, the approvals UI) and the scheduler's digest read a channel's kind through these two
functions only.
"""

from __future__ import annotations

from typing import Any, Literal

SlackChannelKind = Literal["im", "mpim", "public", "private", "ext_shared", "unknown"]
"""The kinds Slack can state (`bot.tools.base.ChannelType` adds the terminal's "shell")."""

_EVENT_CHANNEL_TYPES: dict[str, SlackChannelKind] = {
    "channel": "public",
    "group": "private",
    "im": "im",
    "mpim": "mpim",
    "app_home": "im",
}
"""Event `channel_type` values (Events API) and the kind each states."""


def channel_type_from_event(value: Any, *, ext_shared: Any = None) -> SlackChannelKind | None:
    """The kind an event states (its `channel_type`, and for channels the envelope's `is_ext_shared_channel`), or
    None when it does not state it fully (then it is looked up by id)."""
    if ext_shared is True:
        return "ext_shared"  # whatever else it is, other organizations read it (a Slack Connect channel or DM)
    kind = _EVENT_CHANNEL_TYPES.get(value) if isinstance(value, str) else None
    if kind in ("public", "private") and ext_shared is not False:
        return None  # sharing unknown: ask conversations.info
    return kind


def channel_type_from_info(info: Any) -> SlackChannelKind:
    """The kind conversations.info states ("unknown" when it states none we know)."""
    if not isinstance(info, dict):
        return "unknown"
    if info.get("is_im") is True:
        return "im"
    if info.get("is_mpim") is True:
        return "mpim"
    if info.get("is_ext_shared") is True or info.get("is_pending_ext_shared") is True:
        return "ext_shared"
    if info.get("is_private") is True or info.get("is_group") is True:
        return "private"
    if info.get("is_channel") is True or info.get("is_private") is False:
        return "public"
    return "unknown"
