"""Socket Mode with every frame screened before the SDK reads it: a malformed frame is logged once with the reason,
acknowledged when it names an envelope, and never reaches Bolt.

Slack sends `hello`, `disconnect` (the SDK then opens a new connection) and envelopes
`{envelope_id, type: events_api | slash_commands | interactive, payload: {...}, ...}`. slack_sdk's client parses each
text frame itself and, for a frame it cannot use, either drops it silently (no `envelope_id`), logs a traceback and
never acknowledges it (a `payload` that is not an object; Slack then redelivers it), or hands it to Bolt (an unknown
`type`, which Bolt answers 404 and leaves unacknowledged). `ScreenedSocketModeClient` screens the raw text in
`enqueue_message`, the one place every text frame passes, so none of that happens; the frames Slack documents go
through untouched. `SocketModeHandler` is Bolt's aiohttp handler built on that client (Bolt's base class, the same
`handle`), the one `chatops run` uses.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from time import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_base_handler import AsyncBaseSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.logs import get_logger, log_event

ENVELOPE_TYPES = frozenset({"events_api", "slash_commands", "interactive"})
"""What Slack delivers in envelopes (and Bolt has listeners for)."""
CONTROL_TYPES = frozenset({"hello", "disconnect"})
"""Messages about the connection itself: no envelope, no acknowledgement."""
_MAX_ID = 200

_log = get_logger("slack.socket_mode")


@dataclass(frozen=True)
class Screened:
    """What a raw frame is: `problem` is None for a frame to hand to the SDK; `envelope_id` is set when the frame
    names an envelope Slack expects an acknowledgement for."""

    problem: str | None
    envelope_id: str | None = None
    type: str | None = None


def screen_frame(raw: str) -> Screened:
    """Why the SDK must not see this text frame (None when it may), and which envelope to acknowledge anyway."""
    try:
        message = json.loads(raw)
    except ValueError:
        return Screened("not JSON")
    if not isinstance(message, dict):
        return Screened(f"a JSON {type(message).__name__}, not an object")
    kind = message.get("type")
    envelope_id = message.get("envelope_id")
    if not isinstance(envelope_id, str) or not 0 < len(envelope_id) <= _MAX_ID:
        envelope_id = None
    if not isinstance(kind, str):
        return Screened("no type", envelope_id)
    if kind in CONTROL_TYPES:
        return Screened(None, type=kind)
    if envelope_id is None:
        return Screened("no envelope_id", type=kind)
    if kind not in ENVELOPE_TYPES:
        return Screened(f"unknown envelope type {kind[:60]!r}", envelope_id, kind)
    if not isinstance(message.get("payload"), dict):
        return Screened(f"payload is {_kind_of(message.get('payload'))}, not an object", envelope_id, kind)
    return Screened(None, envelope_id, kind)


def _kind_of(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"


class ScreenedSocketModeClient(SocketModeClient):
    """slack_sdk's aiohttp Socket Mode client, with every text frame screened (`screen_frame`) before it is queued."""

    async def enqueue_message(self, message: str) -> None:
        """Queue a usable frame; log a malformed one (acknowledging its envelope, if it names one) and drop it."""
        screened = screen_frame(message)
        if screened.problem is None:
            if screened.type == "disconnect":
                reason = _field(message, "reason")
                log_event(_log, "Slack asked to reconnect", reason=reason)
            await super().enqueue_message(message)
            return
        log_event(
            _log, "socket frame ignored", logging.WARNING,
            reason=screened.problem, type=screened.type, envelope_id=screened.envelope_id, size=len(message),
        )  # fmt: skip
        if screened.envelope_id is not None:
            try:
                await self.send_socket_mode_response(SocketModeResponse(envelope_id=screened.envelope_id))
            except Exception as exc:  # noqa: BLE001 - a closed socket: Slack redelivers, and it is ignored again
                log_event(_log, "socket frame not acknowledged", logging.WARNING, error=type(exc).__name__)


def _field(raw: str, name: str) -> str | None:
    value = json.loads(raw).get(name)
    return value[:60] if isinstance(value, str) else None


class SocketModeHandler(AsyncBaseSocketModeHandler):
    """Bolt's aiohttp Socket Mode handler on `ScreenedSocketModeClient`: connect_async / close_async as Bolt's."""

    app: AsyncApp
    client: ScreenedSocketModeClient

    def __init__(self, app: AsyncApp, app_token: str, *, ping_interval: float = 10) -> None:
        self.app = app
        self.app_token = app_token
        self.client = ScreenedSocketModeClient(
            app_token=app_token, logger=app.logger, web_client=app.client, ping_interval=ping_interval
        )
        self.client.socket_mode_request_listeners.append(self.handle)

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        """Run the envelope through the Bolt app and acknowledge it with Bolt's answer (as Bolt's handler does)."""
        start = time()
        bolt_resp = await run_async_bolt_app(self.app, req)
        await send_async_response(client, req, bolt_resp, start)
