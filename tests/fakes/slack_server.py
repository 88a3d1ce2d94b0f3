"""A fake Slack Web API (and Socket Mode, response_url) for tests and benchmarks, driven by the real slack_sdk.

**Usage**::

    with FakeSlack() as slack:
        slack.add_channel("C0OPS", name="ops")
        client = AsyncWebClient(token=FakeSlack.BOT_TOKEN, base_url=slack.api_url)
        ...
        slack.fail("chat.postMessage", status=429, retry_after=0)        # the next call gets a 429
        slack.fail("chat.postMessage", status=500, applied=True)         # posted, but the answer is a 500
        slack.fail("users.info", drop=True)                              # the connection drops, no answer
        await slack.await_call("chat.stopStream")                        # wait on an event, never a sleep
        assert slack.calls("chat.startStream")[0].args["thread_ts"] == "..."

It answers like Slack: HTTP 200 with `{"ok": false, "error": ...}` for API errors (`invalid_auth`,
`channel_not_found`, `not_in_channel`, `msg_too_long`, `invalid_blocks`, `msg_blocks_too_long`,
`message_not_in_streaming_state`, `user_not_found`, ...), 429 with `Retry-After` for rate limits, increasing
message `ts` values, and the Block Kit limits enforced (50 blocks per message, 100 per view, valid blocks per
slack_sdk's models, 3,000 chars per section, 12,000 across markdown blocks, 40,000-char text).
Every call is recorded as a `SlackCall` (method, merged form/JSON/query arguments with JSON-encoded fields
decoded, token). `fail(method, ...)` scripts faults; a fault may hold its answer until a `threading.Event` is set.

Socket Mode: `apps.connections.open` (with an `xapp-` token) returns a WebSocket URL on this server; the fake
says `hello`, and `socket_send(type, payload)` pushes an envelope whose acknowledgement `socket_ack(id)` waits for.
`response_url(name)` gives a URL whose POSTs (slash command / shortcut responses) are recorded as method
`response_url`. `GET /_fake/calls` returns the recorded calls as JSON, for a fake running in another process.

Beside it: the methods (slack_methods.py, slack_agent.py), the Block Kit limits (slack_blocks.py), what it knows
and records (slack_data.py), and the payloads Slack sends to the app (slack_payloads.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes import slack_data as ids
from tests.fakes.base import FakeServer
from tests.fakes.slack_agent import AgentMethods
from tests.fakes.slack_data import Channel, ChannelKind, Fault, SlackCall, StoredMessage
from tests.fakes.slack_methods import WebMethods

_JSON_FIELDS = ("blocks", "chunks", "view", "attachments", "loading_messages", "metadata")


class FakeSlack(WebMethods, AgentMethods, FakeServer):
    """The fake Slack Web API. See the module docstring."""

    BOT_TOKEN = ids.BOT_TOKEN
    APP_TOKEN = ids.APP_TOKEN
    SIGNING_SECRET = ids.SIGNING_SECRET
    TEAM_ID = ids.TEAM_ID
    BOT_USER_ID = ids.BOT_USER_ID
    BOT_ID = ids.BOT_ID
    APP_ID = ids.APP_ID

    def __init__(self) -> None:
        super().__init__()
        self.slack_calls: list[SlackCall] = []
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[StoredMessage]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.statuses: list[tuple[str, str, str]] = []
        self.valid_tokens = {self.BOT_TOKEN}
        self._faults: dict[str, list[Fault]] = {}
        self._recorded: dict[str, list[bytes]] = {}
        self._holds: list[threading.Event] = []
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._view_ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_acks: dict[str, dict[str, Any]] = {}
        self._socket_ready = threading.Event()
        self._closing: asyncio.Event | None = None
        self._init_agent()

    # ------------------------------------------------------------ set-up (test thread)
    @property
    def api_url(self) -> str:
        """The Web API base URL (what SLACK_API_URL is set to)."""
        return f"{self.url}/api/"

    def add_channel(
        self, channel_id: str, *, name: str = "", kind: ChannelKind = "public", member: bool = True, user: str | None = None
    ) -> Channel:
        """Make a conversation known (ims: `kind="im"` and the other `user`)."""
        channel = Channel(id=channel_id, name=name or channel_id.lower(), kind=kind, member=member, user=user)
        with self._lock:
            self.channels[channel_id] = channel
            self.messages.setdefault(channel_id, [])
        return channel

    def add_user(
        self, user_id: str, *, name: str, email: str | None = None, is_bot: bool = False, team_id: str | None = None
    ) -> None:
        """Make a user known to users.info."""
        profile: dict[str, Any] = {"real_name": name, "display_name": name.split()[0], "real_name_normalized": name}
        if email:
            profile["email"] = email
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "team_id": team_id or self.TEAM_ID,
                "name": name.lower().replace(" ", "."),
                "real_name": name,
                "deleted": False,
                "is_bot": is_bot,
                "is_admin": False,
                "is_owner": False,
                "tz": "Europe/Berlin",
                "profile": profile,
            }

    def post_user_message(self, channel: str, *, user: str, text: str, thread_ts: str | None = None) -> str:
        """Put a person's message in a channel (for conversations.replies); returns its ts."""
        with self._lock:
            ts = self._next_ts()
            self.messages.setdefault(channel, []).append(StoredMessage(ts=ts, text=text, user=user, thread_ts=thread_ts))
            return ts

    def fail(
        self,
        method: str,
        error: str = "",
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        hold: threading.Event | None = None,
        applied: bool = False,
        drop: bool = False,
    ) -> None:
        """Script the next `times` calls of `method`: an ok:false `error`, an HTTP `status`, a held answer, or a
        dropped connection (`drop`); `applied` runs the method before the fault answers (the answer was lost)."""
        if status == 429 and not error:
            error = "ratelimited"
        with self._lock:
            if hold is not None:
                self._holds.append(hold)
            self._faults.setdefault(method, []).append(
                Fault(error=error, status=status, retry_after=retry_after, times=times, hold=hold, applied=applied, drop=drop)
            )

    def answer_with(self, method: str, body: bytes) -> None:
        """Answer the next call of `method` with these exact bytes (a recorded response), HTTP 200 JSON."""
        with self._lock:
            self._recorded.setdefault(method, []).append(body)

    def expire_streams(self) -> None:
        """Every open stream dies, as Slack's do after about five minutes."""
        with self._lock:
            for msgs in self.messages.values():
                for msg in msgs:
                    msg.streaming = False

    def response_url(self, name: str = "r1") -> str:
        """A response_url whose POSTs are recorded as calls of method `response_url`."""
        return f"{self.url}/respond/{name}"

    # ------------------------------------------------------------ inspection
    def calls(self, method: str | None = None) -> list[SlackCall]:
        """Recorded calls (of one method), in order."""
        with self._lock:
            return [c for c in self.slack_calls if method is None or c.method == method]

    def methods(self) -> list[str]:
        """Methods called so far, in order."""
        with self._lock:
            return [c.method for c in self.slack_calls]

    def thread(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        """The parent and replies of a thread."""
        with self._lock:
            return [m for m in self.messages.get(channel, []) if m.ts == thread_ts or m.thread_ts == thread_ts]

    def bot_messages(self, channel: str | None = None) -> list[StoredMessage]:
        """Messages the bot posted (streamed ones included)."""
        with self._lock:
            chans = [channel] if channel else list(self.messages)
            return [m for c in chans for m in self.messages.get(c, []) if m.bot_id == self.BOT_ID]

    def wait_call(
        self, method: str, predicate: Callable[[SlackCall], bool] = lambda c: True, *, count: int = 1, timeout: float = 10.0
    ) -> None:
        """Block until `count` calls of `method` matching `predicate` were recorded."""

        def seen(_reqs: list[Any]) -> bool:
            return len([c for c in self.calls(method) if predicate(c)]) >= count

        self.wait_for(seen, timeout)

    async def await_call(
        self, method: str, predicate: Callable[[SlackCall], bool] = lambda c: True, *, count: int = 1, timeout: float = 10.0
    ) -> None:
        """`wait_call` without blocking the event loop."""
        await asyncio.to_thread(self.wait_call, method, predicate, count=count, timeout=timeout)

    # ------------------------------------------------------------ socket mode (test thread)
    def socket_send(self, type_: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = "") -> str:
        """Push an envelope to the connected Socket Mode client; returns its envelope_id."""
        if not self._socket_ready.wait(10):
            raise AssertionError("no Socket Mode client connected")
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._sockets[-1].send_json(envelope), self._loop)
        future.result(10)
        return envelope_id

    def socket_send_frame(self, frame: str | bytes | dict[str, Any] | list[Any]) -> None:
        """Push one raw frame to the connected client as Slack could (text as given, bytes as a binary frame,
        anything else as JSON): malformed envelopes, a `disconnect` message."""
        if not self._socket_ready.wait(10):
            raise AssertionError("no Socket Mode client connected")
        ws = self._sockets[-1]
        if isinstance(frame, bytes):
            send: Any = ws.send_bytes(frame)
        elif isinstance(frame, str):
            send = ws.send_str(frame)
        else:
            send = ws.send_json(frame)
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(send, self._loop).result(10)

    def socket_wait_connections(self, count: int, timeout: float = 10.0) -> None:
        """Wait until `count` Socket Mode connections were opened in all (a reconnect opens another)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._sockets) >= count, timeout=timeout):
                raise AssertionError(f"{len(self._sockets)} Socket Mode connections within {timeout}s, wanted {count}")

    def socket_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the client's acknowledgement of an envelope."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self._socket_acks, timeout=timeout):
                raise AssertionError(f"envelope {envelope_id} not acknowledged within {timeout}s")
            return self._socket_acks[envelope_id]

    # ------------------------------------------------------------ aiohttp
    def build_app(self) -> web.Application:
        """Routes: /api/<method>, the Socket Mode WebSocket, response URLs."""
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket-mode", self._socket)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/_fake/calls", self._dump_calls)
        return app

    def stop(self) -> None:
        """Stop serving; held answers are released."""
        if self._loop is not None and self._closing is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
        with self._lock:
            for hold in self._holds:
                hold.set()  # faults already taken from the queue may still be holding an answer
        super().stop()

    async def _parse(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        body = await request.read()
        if request.content_type == "application/json" and body:
            args.update(json.loads(body))
        elif body:
            args.update(dict(parse_qsl(body.decode(), keep_blank_values=True)))
        for name in _JSON_FIELDS:
            if isinstance(args.get(name), str) and args[name][:1] in "[{":
                args[name] = json.loads(args[name])
        return args

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._parse(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.pop("token", None)
        with self._cond:
            self.slack_calls.append(SlackCall(method=method, args=args, token=token))
            self._cond.notify_all()
        with self._lock:
            recorded = self._recorded.get(method)
            replay = recorded.pop(0) if recorded else None
        if replay is not None:
            return web.Response(body=replay, content_type="application/json", charset="utf-8")
        fault = self._take_fault(method)
        if fault is not None:
            if fault.hold is not None:
                await asyncio.to_thread(fault.hold.wait, 30)
            if fault.applied:
                self._answer(method, args, token)
            if fault.drop:
                return self._drop(request)
            if fault.status != 200:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return web.json_response({"ok": False, "error": fault.error or "fatal_error"}, status=fault.status, headers=headers)
            if fault.error:
                return web.json_response({"ok": False, "error": fault.error})
        return self._answer(method, args, token)

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection without an answer (the client sees the server disconnect)."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        if method == "apps.connections.open":
            if not (token or "").startswith("xapp-"):
                return web.json_response({"ok": False, "error": "not_allowed_token_type"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode"})
        if token not in self.valid_tokens:
            return web.json_response({"ok": False, "error": "not_authed" if not token else "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        with self._lock:
            result = handler(args)
        with self._cond:  # waiters on the workspace's state (a message changed, a status cleared) look again
            self._cond.notify_all()
        headers = {"x-oauth-scopes": "app_mentions:read,chat:write,commands,im:history"} if method == "auth.test" else {}
        return web.json_response(result, headers=headers)

    async def _dump_calls(self, request: web.Request) -> web.Response:
        """Every recorded call as JSON (for a fake running in another process, e.g. the benchmark's)."""
        calls = [{"method": c.method, "args": c.args, "at": c.at} for c in self.calls()]
        return web.json_response(calls)

    async def _respond(self, request: web.Request) -> web.Response:
        args = await self._parse(request)
        args["name"] = request.match_info["name"]
        with self._cond:
            self.slack_calls.append(SlackCall(method="response_url", args=args, token=None))
            self._cond.notify_all()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": self.APP_ID}})
        with self._cond:
            self._sockets.append(ws)
            self._cond.notify_all()
        self._socket_ready.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if isinstance(data, dict) and "envelope_id" in data:
                    with self._cond:
                        self._socket_acks[data["envelope_id"]] = data
                        self._cond.notify_all()
        return ws

    # ------------------------------------------------------------ helpers (called with the lock held)
    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1763476200 + n}.{n:06d}"

    @staticmethod
    def _err(error: str, *messages: str) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error": error}
        if messages:
            out["response_metadata"] = {"messages": list(messages)}
        return out

    def _resolve(self, channel_id: str | None, *, posting: bool) -> Channel | dict[str, Any]:
        if not channel_id:
            return self._err("channel_not_found")
        if channel_id[0] in "UW" and channel_id in self.users:
            dm = "D" + channel_id[1:]
            if dm not in self.channels:
                self.channels[dm] = Channel(id=dm, name=dm, kind="im", user=channel_id)
                self.messages.setdefault(dm, [])
            return self.channels[dm]
        channel = self.channels.get(channel_id)
        if channel is None:
            return self._err("channel_not_found")
        if posting and not channel.member:
            return self._err("not_in_channel")
        return channel

    def _find(self, channel: str, ts: str | None) -> StoredMessage | None:
        return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)
