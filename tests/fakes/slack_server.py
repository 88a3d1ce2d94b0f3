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
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from tests.fakes.base import FakeServer
from tests.fakes.slack_agent import AgentMethods

ChannelKind = Literal["public", "private", "im", "mpim", "ext_shared"]
"""`ext_shared`: a public channel shared with another organization (Slack Connect)."""

_JSON_FIELDS = ("blocks", "chunks", "view", "attachments", "loading_messages", "metadata")
MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3_000
MAX_MARKDOWN_TOTAL = 12_000
MAX_BLOCK_TEXT_TOTAL = 13_200
"""Slack rejects messages whose blocks carry more text than about this (`msg_blocks_too_long`)."""
TASK_STATUSES = {"pending", "in_progress", "complete", "error"}


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
            out["team"] = FakeSlack.TEAM_ID
            out["bot_profile"] = {
                "id": self.bot_id, "deleted": False, "name": "chatops", "updated": 1763000000,
                "app_id": FakeSlack.APP_ID, "icons": {"image_36": "https://avatars.example/36.png"},
                "team_id": FakeSlack.TEAM_ID,
            }  # fmt: skip
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.blocks:
            out["blocks"] = self.blocks
        return out


def block_text_length(value: Any) -> int:
    """Characters of text a block payload carries (every string under a `text` key), as Slack counts them."""
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                total += len(item)
            else:
                total += block_text_length(item)
        return total
    if isinstance(value, list):
        return sum(block_text_length(v) for v in value)
    return 0


_text_of = block_text_length
"""The old name, still imported by other tests."""


def check_blocks(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> str | None:
    """Why Slack would reject these blocks (None when valid)."""
    if not isinstance(blocks, list):
        return "blocks must be an array"
    if len(blocks) > max_blocks:
        return f"no more than {max_blocks} items allowed [json-pointer:/blocks]"
    markdown_total = 0
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict) or "type" not in raw:
            return f"missing required field: type [json-pointer:/blocks/{i}]"
        try:
            parsed = Block.parse(raw)
            if parsed is None or type(parsed) is Block:
                return f"unsupported type: {raw.get('type')} [json-pointer:/blocks/{i}/type]"
            parsed.validate_json()
        except SlackObjectFormationError as exc:
            return f"{exc} [json-pointer:/blocks/{i}]"
        children = raw.get("child_blocks", []) if raw["type"] == "container" else []
        for j, block in enumerate([raw, *children]):
            if block.get("type") == "markdown":
                markdown_total += len(block.get("text", ""))
            if block.get("type") == "section":
                text = (block.get("text") or {}).get("text", "")
                if len(text) > MAX_SECTION_TEXT:
                    return f"must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:/blocks/{i}/text]"
            if j and block.get("type") == "markdown":
                return f"unsupported type: markdown inside container [json-pointer:/blocks/{i}/child_blocks/{j - 1}]"
    if markdown_total > MAX_MARKDOWN_TOTAL:
        return f"markdown blocks exceed {MAX_MARKDOWN_TOTAL} characters in total"
    return None


class FakeSlack(AgentMethods, FakeServer):
    """The fake Slack Web API. See the module docstring."""

    BOT_TOKEN = "xoxb-0000000000-fake"
    APP_TOKEN = "xapp-1-A0000000000-fake"
    SIGNING_SECRET = "fake-signing-secret"
    TEAM_ID = "T0TEAM"
    BOT_USER_ID = "U0BOT"
    BOT_ID = "B0BOT"
    APP_ID = "A0CHATOPS"

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

    def _check_content(self, text: Any, blocks: Any) -> dict[str, Any] | None:
        if not text and not blocks:
            return self._err("no_text")
        if text and len(str(text)) > MAX_TEXT:
            return self._err("msg_too_long")
        if blocks:
            if problem := check_blocks(blocks):
                return self._err("invalid_blocks", f"[ERROR] {problem}")
            if block_text_length(blocks) > MAX_BLOCK_TEXT_TOTAL:
                return self._err("msg_blocks_too_long")
        return None

    def _check_chunks(self, args: dict[str, Any]) -> dict[str, Any] | None:
        markdown = len(args.get("markdown_text") or "")
        for chunk in args.get("chunks") or []:
            kind = chunk.get("type")
            if kind == "markdown_text":
                markdown += len(chunk.get("text", ""))
            elif kind == "task_update":
                if chunk.get("status") not in TASK_STATUSES or not chunk.get("id") or not chunk.get("title"):
                    return self._err("invalid_chunks", f"[ERROR] bad task_update {chunk}")
            elif kind not in ("plan_update", "blocks"):
                return self._err("invalid_chunks", f"[ERROR] unknown chunk type {kind!r}")
        if markdown > MAX_MARKDOWN_TOTAL:
            return self._err("msg_too_long")
        return None

    @staticmethod
    def _chunk_text(args: dict[str, Any]) -> str:
        text = args.get("markdown_text") or ""
        for chunk in args.get("chunks") or []:
            if chunk.get("type") == "markdown_text":
                text += chunk.get("text", "")
        return text

    # ------------------------------------------------------------ methods
    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "chatops",
            "team_id": self.TEAM_ID,
            "user_id": self.BOT_USER_ID,
            "bot_id": self.BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        if problem := self._check_content(args.get("text"), args.get("blocks")):
            return problem
        msg = StoredMessage(
            ts=self._next_ts(),
            text=args.get("text") or "",
            user=self.BOT_USER_ID,
            bot_id=self.BOT_ID,
            thread_ts=args.get("thread_ts"),
            blocks=args.get("blocks") or [],
            metadata=args.get("metadata") or None,
        )
        self.messages[channel.id].append(msg)
        return {"ok": True, "channel": channel.id, "ts": msg.ts, "message": msg.to_api()}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("ts"))
        if msg is None:
            return self._err("message_not_found")
        if msg.bot_id != self.BOT_ID:
            return self._err("cant_update_message")
        if problem := self._check_content(args.get("text"), args.get("blocks")):
            return problem
        msg.text = args.get("text") or ""
        msg.blocks = args.get("blocks") or []
        msg.streaming = False
        if args.get("metadata"):
            msg.metadata = args["metadata"]
        return {"ok": True, "channel": channel.id, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("ts"))
        if msg is None:
            return self._err("message_not_found")
        if msg.bot_id != self.BOT_ID:
            return self._err("cant_delete_message")
        self.messages[channel.id].remove(msg)
        return {"ok": True, "channel": channel.id, "ts": msg.ts}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        if not args.get("user"):
            return self._err("user_not_in_channel")
        if problem := self._check_content(args.get("text"), args.get("blocks")):
            return problem
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_startStream(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        if not args.get("thread_ts"):
            return self._err("invalid_arguments", "[ERROR] missing required field: thread_ts")
        if channel.kind != "im" and not (args.get("recipient_user_id") and args.get("recipient_team_id")):
            return self._err("invalid_arguments", "[ERROR] recipient_user_id and recipient_team_id are required in channels")
        if problem := self._check_chunks(args):
            return problem
        msg = StoredMessage(
            ts=self._next_ts(),
            text=self._chunk_text(args),
            user=self.BOT_USER_ID,
            bot_id=self.BOT_ID,
            thread_ts=args["thread_ts"],
            streaming=True,
            chunks=list(args.get("chunks") or []),
        )
        self.messages[channel.id].append(msg)
        return {"ok": True, "channel": channel.id, "ts": msg.ts}

    def _streaming_message(self, args: dict[str, Any]) -> StoredMessage | dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("ts"))
        if msg is None:
            return self._err("message_not_found")
        if not msg.streaming:
            return self._err("message_not_in_streaming_state")
        return msg

    def _m_chat_appendStream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming_message(args)
        if isinstance(msg, dict):
            return msg
        if problem := self._check_chunks(args):
            return problem
        msg.text += self._chunk_text(args)
        msg.chunks.extend(args.get("chunks") or [])
        return {"ok": True, "channel": args["channel"], "ts": msg.ts}

    def _m_chat_stopStream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming_message(args)
        if isinstance(msg, dict):
            return msg
        if problem := self._check_chunks(args):
            return problem
        text = msg.text + self._chunk_text(args)
        if problem := self._check_content(text, args.get("blocks")):
            return problem
        msg.text = text
        msg.chunks.extend(args.get("chunks") or [])
        msg.blocks = args.get("blocks") or []
        msg.streaming = False
        if args.get("metadata"):
            msg.metadata = args["metadata"]
        return {"ok": True, "channel": args["channel"], "ts": msg.ts, "message": msg.to_api()}

    def _m_assistant_threads_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel_id"), posting=True)
        if isinstance(channel, dict):
            return channel
        if not args.get("thread_ts") or "status" not in args:
            return self._err("invalid_arguments")
        if len(args.get("loading_messages") or []) > 10:
            return self._err("invalid_arguments", "[ERROR] loading_messages: no more than 10 items allowed")
        self.statuses.append((channel.id, args["thread_ts"], args["status"]))
        return {"ok": True}

    def _m_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("timestamp"))
        if msg is None:
            return self._err("message_not_found")
        if args.get("name") in msg.reactions:
            return self._err("already_reacted")
        msg.reactions.append(str(args.get("name")))
        return {"ok": True}

    def _m_reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("timestamp"))
        if msg is None:
            return self._err("message_not_found")
        if args.get("name") not in msg.reactions:
            return self._err("no_reaction")
        msg.reactions.remove(str(args.get("name")))
        return {"ok": True}

    def _view(self, args: dict[str, Any], *, view_id: str | None = None) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return self._err("invalid_arguments", "[ERROR] view.type must be modal or home")
        if problem := check_blocks(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS):
            return self._err("invalid_arguments", f"[ERROR] {problem}")
        return {"ok": True, "view": {**view, "id": view_id or f"V{next(self._view_ids):08d}", "team_id": self.TEAM_ID}}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return self._err("invalid_trigger_id")
        return self._view(args)

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("view_id") and not args.get("external_id"):
            return self._err("not_found")
        return self._view(args, view_id=args.get("view_id"))

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if user not in self.users:
            return self._err("user_not_found")
        result = self._view(args)
        if result.get("ok"):
            self.home_views[str(user)] = result["view"]
        return result

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return self._err("user_not_found")
        return {"ok": True, "user": user}

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        kind = channel.kind
        shared = kind == "ext_shared"
        info: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "is_channel": kind in ("public", "ext_shared"),
            "is_group": kind in ("private", "mpim"),  # recorded: an mpim says is_group too
            "is_im": kind == "im",
            "is_mpim": kind == "mpim",
            "is_private": kind not in ("public", "ext_shared"),
            "is_member": channel.member,
            "is_archived": False,
            "is_general": False,
            "created": 1763000000,
            "is_shared": shared,
            "is_ext_shared": shared,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
        }
        if kind == "im":
            info = {k: v for k, v in info.items() if k in ("id", "is_im", "is_archived", "created", "is_org_shared")}
            if channel.user:
                info["user"] = channel.user
        return {"ok": True, "channel": info}

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        if not channel.member and channel.kind != "public":
            return self._err("channel_not_found")
        thread = [m for m in self.messages[channel.id] if m.ts == args.get("ts") or m.thread_ts == args.get("ts")]
        if not thread:
            return self._err("thread_not_found")
        limit = max(1, min(int(args.get("limit") or 1000), 1000))
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return {
            "ok": True,
            "messages": [m.to_api(metadata=_truthy(args.get("include_all_metadata"))) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        ts = str(args.get("message_ts", ""))
        return {"ok": True, "channel": channel.id, "permalink": f"https://acme.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


# ---------------------------------------------------------------- payloads Slack sends to the app

_event_ids = itertools.count(1)


def event_callback(event: dict[str, Any], *, event_id: str | None = None, team_id: str = FakeSlack.TEAM_ID) -> dict[str, Any]:
    """An Events API envelope around `event`, as Slack posts it."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": FakeSlack.APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):010d}",
        "event_time": 1763476200,
        "authorizations": [
            {"enterprise_id": None, "team_id": team_id, "user_id": FakeSlack.BOT_USER_ID, "is_bot": True}
        ],
        "is_ext_shared_channel": False,
    }


def mention(
    *, channel: str, user: str, text: str, ts: str, thread_ts: str | None = None, team_id: str = FakeSlack.TEAM_ID
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
        "team": FakeSlack.TEAM_ID,
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
    team_id: str = FakeSlack.TEAM_ID,
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
        "api_app_id": FakeSlack.APP_ID,
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
    team_id: str = FakeSlack.TEAM_ID,
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
    body: str, *, secret: str = FakeSlack.SIGNING_SECRET, timestamp: int | None = None, content_type: str = "application/json"
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
