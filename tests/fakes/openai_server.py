"""A fake OpenAI-compatible Chat Completions server (`POST /v1/chat/completions`), driven by the real `openai` SDK.

**Usage**::

    with OpenAIServer() as server:
        server.queue(ChatReply(calls=[ChatCall("get_ticket", {"key": "OPS-1"})]), ChatReply(text="OPS-1 is open."))
        client = AsyncOpenAI(api_key="sk-local", base_url=server.url + "/v1", max_retries=0)
        ...
        server.bodies()[0]["tool_choice"]

Items: `ChatReply` (text, tool calls, `finish_reason`, usage; streamed as `chat.completion.chunk` SSE ending in
`data: [DONE]` when the request has `"stream": true`, with a last usage chunk whose `choices` is empty when
`stream_options.include_usage` is set), `ChatError(status, message, code)` (OpenAI's error body), `RawJSON(body)`
(any body, for shapes we do not know). Server flavours: `whole_calls=True` sends each call whole in one chunk
(Ollama), `omit_ids=True` leaves ids out, `cut=True` ends a stream with no finish_reason.

Like the servers it stands in for, a request is validated: a Bearer key, every assistant `tool_calls` id answered
by a `tool` message before the next user/assistant message, no unknown `tool_call_id`, and `tools` with unique
names; a violation is a 400 (and kept in `violations`).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer

PATH = "/v1/chat/completions"


@dataclass
class ChatCall:
    """A tool call; `arguments` given as a string is sent as is (e.g. malformed JSON)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def raw(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class ChatReply:
    text: str | None = None
    calls: list[ChatCall] = field(default_factory=list)
    finish_reason: str | None = None
    """Default: `tool_calls` when there are calls, else `stop`."""
    usage: dict[str, Any] = field(default_factory=lambda: {"prompt_tokens": 150, "completion_tokens": 25, "total_tokens": 175})
    chunk: int = 6
    whole_calls: bool = False
    omit_ids: bool = False
    cut: bool = False


@dataclass
class ChatError:
    status: int
    message: str
    code: str | None = None


@dataclass
class RawJSON:
    body: Any


Item = ChatReply | ChatError | RawJSON


class OpenAIServer(FakeServer):
    """The fake Chat Completions endpoint (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._queue: list[Item] = []
        self._ids = itertools.count(1)
        self.violations: list[str] = []

    def __enter__(self) -> OpenAIServer:
        self.start()
        return self

    def queue(self, *items: Item) -> OpenAIServer:
        with self._lock:
            self._queue.extend(items)
        return self

    def bodies(self) -> list[dict[str, Any]]:
        with self._cond:
            return [r.json() for r in self.requests if r.path == PATH]

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post(PATH, self._complete)
        return app

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(ChatError(401, "You didn't provide an API key.", "missing_api_key"))
        body = json.loads(await request.read())
        problem = _validate(body)
        with self._lock:
            if problem is None and not self._queue:
                problem = "no scripted response left"
            item: Item | None = None if problem else self._queue.pop(0)
            if problem:
                self.violations.append(problem)
        if item is None:
            return _error(ChatError(400, str(problem), "invalid_request_error"))
        if isinstance(item, ChatError):
            return _error(item)
        if isinstance(item, RawJSON):
            return web.json_response(item.body)
        for call in item.calls:
            call.id = call.id or f"call_{next(self._ids):024d}"
        base = {"id": f"chatcmpl-{next(self._ids)}", "created": 1763476200, "model": body.get("model", "")}
        finish = item.finish_reason or ("tool_calls" if item.calls else "stop")
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": item.text}
            if item.calls:
                message["tool_calls"] = [_call_json(c, item.omit_ids) for c in item.calls]
            choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            return web.json_response({**base, "object": "chat.completion", "choices": [choice], "usage": item.usage})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for chunk in _chunks(item, finish, bool((body.get("stream_options") or {}).get("include_usage"))):
            await response.write(f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', **chunk})}\n\n".encode())
        if not item.cut:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _call_json(call: ChatCall, omit_id: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "function": {"name": call.name, "arguments": call.raw()}}
    if not omit_id:
        out["id"] = call.id
    return out


def _chunks(item: ChatReply, finish: str, usage: bool) -> list[dict[str, Any]]:
    def delta(d: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": d, "finish_reason": reason, "logprobs": None}], "usage": None}

    out = [delta({"role": "assistant", "content": ""})]
    text = item.text or ""
    out.extend(delta({"content": text[i : i + item.chunk]}) for i in range(0, len(text), item.chunk))
    for index, call in enumerate(item.calls):
        if item.whole_calls:
            out.append(delta({"tool_calls": [{"index": index, **_call_json(call, item.omit_ids)}]}))
            continue
        first: dict[str, Any] = {"index": index, "type": "function", "function": {"name": call.name, "arguments": ""}}
        if not item.omit_ids:
            first["id"] = call.id
        out.append(delta({"tool_calls": [first]}))
        raw = call.raw()
        out.extend(delta({"tool_calls": [{"index": index, "function": {"arguments": raw[i : i + item.chunk]}}]}) for i in range(0, len(raw), item.chunk))
    if item.cut:
        return out
    out.append(delta({}, finish))
    if usage:
        out.append({"choices": [], "usage": item.usage})
    return out


def _validate(body: dict[str, Any]) -> str | None:
    names = [t.get("function", {}).get("name") for t in body.get("tools") or []]
    if len(names) != len(set(names)):
        return "tools: function names must be unique"
    expected: set[str] = set()
    for index, message in enumerate(body.get("messages") or []):
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in expected:
                return f"messages.[{index}]: tool message with unknown tool_call_id {message.get('tool_call_id')!r}"
            expected.discard(message["tool_call_id"])
            continue
        if expected:
            return f"messages.[{index}]: an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'; missing {sorted(expected)}"
        if role == "assistant":
            expected = {c.get("id") for c in message.get("tool_calls") or []}
    return None


def _error(err: ChatError) -> web.Response:
    body = {"error": {"message": err.message, "type": "invalid_request_error" if err.status < 500 else "server_error", "param": None, "code": err.code}}
    return web.json_response(body, status=err.status)
