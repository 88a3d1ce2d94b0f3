"""Payloads Slack sends to the app (Events API envelopes, events, slash commands, shortcuts), signed and encoded
as Slack sends them, for tests and benchmarks that drive the real Bolt app."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

from tests.fakes.slack_data import APP_ID, BOT_USER_ID, SIGNING_SECRET, TEAM_ID

_event_ids = itertools.count(1)


def event_callback(event: dict[str, Any], *, event_id: str | None = None, team_id: str = TEAM_ID) -> dict[str, Any]:
    """An Events API envelope around `event`, as Slack posts it."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):010d}",
        "event_time": 1763476200,
        "authorizations": [
            {"enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}
        ],
        "is_ext_shared_channel": False,
    }


def interaction(kind: str, *, user: str, trigger: str = "0", team_id: str = TEAM_ID) -> dict[str, Any]:
    """What every interactivity payload (`block_actions`, `view_submission`) starts with: its type, who acted, in
    which workspace, for which app (`trigger` ends the trigger id)."""
    return {
        "type": kind,
        "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": f"13345224609.738474920.8088930838d88f008e{trigger}",
    }


def mention(
    *, channel: str, user: str, text: str, ts: str, thread_ts: str | None = None, team_id: str = TEAM_ID
) -> dict[str, Any]:
    """An app_mention event (`text` should contain `<@U0BOT>`)."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": team_id,
        "client_msg_id": str(uuid.uuid4()),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(
    *,
    channel: str,
    user: str | None,
    text: str,
    ts: str,
    channel_type: str = "im",
    thread_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `message` event (a DM by default); `extra` adds fields such as subtype, bot_id, files, blocks."""
    event: dict[str, Any] = {
        "type": "message",
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
        "team": TEAM_ID,
    }
    if user:
        event["user"] = user
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def slash_command(
    command: str,
    text: str,
    *,
    user: str,
    channel: str,
    response_url: str,
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
    team_id: str = TEAM_ID,
) -> dict[str, str]:
    """The form fields of a slash command request."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "acme",
        "channel_id": channel,
        "channel_name": channel.lower(),
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def message_shortcut(
    callback_id: str,
    *,
    user: str,
    channel: str,
    msg: dict[str, Any],
    response_url: str,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The payload of a message shortcut on `msg` (a message object with ts, user, text)."""
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "action_ts": "1763476300.000001",
        "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user, "name": user.lower(), "team_id": team_id},
        "channel": {"id": channel, "name": channel.lower()},
        "message": {"type": "message", **msg},
        "message_ts": msg["ts"],
        "response_url": response_url,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def app_home_opened(*, user: str, tab: str = "home") -> dict[str, Any]:
    """An app_home_opened event."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user[1:],
        "tab": tab,
        "event_ts": "1763476300.000002",
    }


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, content_type: str = "application/json"
) -> dict[str, str]:
    """Headers of a request signed as Slack signs them (slack_sdk's SignatureVerifier)."""
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"content-type": content_type, "x-slack-request-timestamp": ts, "x-slack-signature": signature}


def form_body(fields: dict[str, str]) -> str:
    """A form-encoded body (slash commands)."""
    from urllib.parse import urlencode

    return urlencode(fields)


def interactive_body(payload: dict[str, Any]) -> str:
    """A form-encoded `payload=` body (shortcuts, block actions, view submissions)."""
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)})
