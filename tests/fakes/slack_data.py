"""What the fake Slack knows and records: the workspace's identities, its channels and messages, each call it saw,
and the faults a test scripted."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

TEAM_ID = "T0TEAM"
APP_ID = "A0CHATOPS"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_TOKEN = "xoxb-0000000000-fake"
APP_TOKEN = "xapp-1-A0000000000-fake"
SIGNING_SECRET = "fake-signing-secret"

ChannelKind = Literal["public", "private", "im", "mpim", "ext_shared"]
"""`ext_shared`: a public channel shared with another organization (Slack Connect)."""


@dataclass
class SlackCall:
    """One Web API call as the fake saw it."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    """When the call arrived (time.monotonic(), comparable with the caller's clock in the same process)."""


@dataclass
class Fault:
    """A scripted answer for the next `times` calls of a method."""

    error: str = ""
    status: int = 200
    retry_after: int | None = None
    times: int = 1
    hold: threading.Event | None = None
    """When set: wait for this event before answering (the call is recorded at once)."""
    applied: bool = False
    """Run the method first, then answer with the fault: Slack applied the call and the answer was lost."""
    drop: bool = False
    """Close the connection instead of answering (a dropped connection; with `applied`, after applying)."""


@dataclass
class Channel:
    """A conversation the fake knows."""

    id: str
    name: str
    kind: ChannelKind = "public"
    member: bool = True
    user: str | None = None
    """For an im: the other member."""


@dataclass
class StoredMessage:
    """A message in a channel, as conversations.replies returns it."""

    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    streaming: bool = False
    chunks: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[str] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    """Message metadata (`event_type`, `event_payload`), returned by conversations.replies with include_all_metadata."""

    def to_api(self, *, metadata: bool = False) -> dict[str, Any]:
        """The message object Slack returns (a bot's carries `team` and `bot_profile`, as recorded)."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if metadata and self.metadata:
            out["metadata"] = self.metadata
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["team"] = TEAM_ID
            out["bot_profile"] = {
                "id": self.bot_id, "deleted": False, "name": "chatops", "updated": 1763000000,
                "app_id": APP_ID, "icons": {"image_36": "https://avatars.example/36.png"},
                "team_id": TEAM_ID,
            }  # fmt: skip
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.blocks:
            out["blocks"] = self.blocks
        return out
