"""A fake Anthropic Messages API (POST /v1/messages) for tests and benchmarks, driven by the real `AsyncAnthropic`.

**Usage**::

    from anthropic import AsyncAnthropic
    from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply, rate_limited

    with AnthropicServer() as server:
        server.queue(
            tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]),   # 1st request: a tool call
            rate_limited(retry_after=0),                                   # 2nd: 429 with retry-after
            text_reply("OPS-1 is open."),                                  # 3rd: the answer
        )
        client = AsyncAnthropic(api_key="sk-ant-test", base_url=server.url, max_retries=0)
        ...
        body = server.bodies()[0]          # the JSON the SDK sent: tools, tool_choice, system, messages, ...
        assert body["tool_choice"] == {"type": "auto"}

Scripting: `queue(*items)` answers requests in order; `respond_with(fn)` answers with `fn(request_json)` once the
queue is empty (a fn may return any item below). An unscripted request gets a 400 naming the problem, so a test
fails loudly instead of hanging. Items:

- `Reply` (helpers `text_reply`, `tool_use_reply`, `refusal_reply`): content blocks, stop_reason, usage,
  `stop_details`. JSON normally; SSE when the request has `"stream": true` (message_start, content_block_start,
  text_delta / input_json_delta chunks, ping, content_block_stop, message_delta, message_stop; `stream_error=`
  sends an SSE `error` event after the first block, as the API does when it overloads mid-stream; `cut_after=n`
  ends the stream after n complete blocks with no message_delta / message_stop (`"message_delta"`: with no
  message_stop), by a clean end of the body or, with `cut_by="reset"`, a dropped connection). `tool_use(...,
  raw_json='{"key": ')` streams that literal (malformed) partial JSON instead of the input. `gate` (a
  `threading.Event`) holds the stream after its first delta until the test sets it: proof that text streams.
- `ApiError` (helpers `overloaded`, `rate_limited`, `server_error`, `unavailable`, `bad_request`,
  `authentication_error`): the real error body `{"type":"error","error":{"type":...,"message":...},
  "request_id":...}`, status, `retry-after` and `anthropic-ratelimit-*` headers on 429.
- `Disconnect()`: the server closes the connection without answering (the SDK raises APIConnectionError).
- Any item takes `delay=` seconds (the fake's latency; a delay longer than the client's timeout gives a timeout).

Like the real API, a request is validated (`strict=True`): x-api-key present, every `tool_use` id answered by a
`tool_result` at the start of the next user message, no unexpected `tool_result` ids, non-empty messages and text
blocks, unique tool names, at most 4 `cache_control` breakpoints. A violation is a 400 `invalid_request_error` with
the API's wording, and is also kept in `server.violations`.

Prompt caching is simulated: when `tools` or `system` carry `cache_control`, the first request with a given
tools+system prefix reports `cache_creation_input_tokens`, and later requests with a byte-identical prefix report
`cache_read_input_tokens` (tokens are estimated as characters / 4). `prefix(i)` gives request i's serialised prefix.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes.base import FakeServer

MESSAGES_PATH = "/v1/messages"
DEFAULT_MODEL = "claude-sonnet-4-6"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


# ---------------------------------------------------------------- scripted items


@dataclass
class ToolUse:
    """A tool_use block the fake model emits. `input` may be any JSON (the real API sends an object)."""

    name: str
    input: Any = field(default_factory=dict)
    id: str | None = None
    raw_json: str | None = None
    """When streaming: send this literal partial JSON instead of `json.dumps(input)` (e.g. malformed)."""


@dataclass
class Reply:
    """A successful response: text and tool_use blocks in order, a stop reason, optional fixed usage."""

    content: list[str | ToolUse]
    stop_reason: str | None = "end_turn"
    """None sends a message without one (the API never does; an incomplete response)."""
    usage: dict[str, int] | None = None
    """Fixed usage; when None it is estimated (with the prompt-cache simulation)."""
    stop_details: dict[str, Any] | None = None
    model: str | None = None
    delay: float = 0.0
    chunk_size: int = 8
    """Characters per text_delta / input_json_delta when streaming."""
    gate: threading.Event | None = None
    """When streaming: after the first delta, wait for this event before sending the rest."""
    stream_error: ApiError | None = None
    """When streaming: after the first content block, send this as an SSE `error` event and end the stream."""
    cut_after: int | Literal["message_delta"] | None = None
    """When streaming: end the stream after this many complete content blocks, with no message_delta (so no
    stop_reason) and no message_stop: a truncated response. `"message_delta"` ends it just before message_stop."""
    cut_by: Literal["eof", "reset"] = "eof"
    """How `cut_after` ends it: `eof` closes the HTTP body cleanly (a proxy ending the stream early); `reset` drops
    the connection mid-body (the client reads an incomplete chunked body)."""


@dataclass
class ApiError:
    """An error response with the API's body shape."""

    status: int
    type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Raw:
    """An answer sent exactly as given: status, headers and body bytes (a recorded response, replayed)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Disconnect:
    """Close the connection without a response."""

    delay: float = 0.0


Item = Reply | ApiError | Raw | Disconnect
Responder = Callable[[dict[str, Any]], Item]


def tool_use(name: str, input: Any = None, *, id: str | None = None, raw_json: str | None = None) -> ToolUse:
    """One tool_use block."""
    return ToolUse(name=name, input={} if input is None else input, id=id, raw_json=raw_json)


def text_reply(text: str, *, stop_reason: str | None = "end_turn", **kwargs: Any) -> Reply:
    """A text answer (stop_reason end_turn unless given; '' gives an empty text block)."""
    return Reply(content=[text], stop_reason=stop_reason, **kwargs)


def tool_use_reply(calls: list[ToolUse], *, text: str | None = None, stop_reason: str = "tool_use", **kwargs: Any) -> Reply:
    """A response asking for tools (optionally after some text)."""
    content: list[str | ToolUse] = [text] if text else []
    content.extend(calls)
    return Reply(content=content, stop_reason=stop_reason, **kwargs)


def refusal_reply(explanation: str = "This request may violate our usage policies.", **kwargs: Any) -> Reply:
    """A refusal with stop_details, as the API sends it."""
    details = {"type": "refusal", "category": "general_harms", "explanation": explanation}
    return Reply(content=[], stop_reason="refusal", stop_details=details, **kwargs)


def error_body(type_: str, message: str, request_id: str = "req_fake") -> dict[str, Any]:
    """The API's error JSON."""
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": request_id}


def overloaded(**kwargs: Any) -> ApiError:
    """529 overloaded_error."""
    return ApiError(529, "overloaded_error", "Overloaded", **kwargs)


def rate_limited(*, retry_after: float | None = 1, **kwargs: Any) -> ApiError:
    """429 rate_limit_error with retry-after and anthropic-ratelimit-* headers."""
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-11-18T14:31:00Z",
        "anthropic-ratelimit-input-tokens-limit": "30000",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": "2026-11-18T14:31:00Z",
    }
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    headers.update(kwargs.pop("headers", {}))
    message = "This request would exceed the rate limit for your organization of 30,000 input tokens per minute."
    return ApiError(429, "rate_limit_error", message, headers=headers, **kwargs)


def server_error(**kwargs: Any) -> ApiError:
    """500 api_error."""
    return ApiError(500, "api_error", "Internal server error", **kwargs)


def unavailable(status: Literal[503, 504] = 503, **kwargs: Any) -> ApiError:
    """503 / 504 from the edge."""
    return ApiError(status, "api_error", "Service unavailable" if status == 503 else "Gateway timeout", **kwargs)


def bad_request(message: str = "messages: Input should be a valid list", **kwargs: Any) -> ApiError:
    """400 invalid_request_error."""
    return ApiError(400, "invalid_request_error", message, **kwargs)


def authentication_error(**kwargs: Any) -> ApiError:
    """401 authentication_error, worded as recorded."""
    return ApiError(401, "authentication_error", "invalid x-api-key", **kwargs)


def permission_error(**kwargs: Any) -> ApiError:
    """403 permission_error: the key may not use this resource."""
    return ApiError(403, "permission_error", "Your API key does not have permission to use the specified resource.", **kwargs)


def model_not_found(model: str, **kwargs: Any) -> ApiError:
    """404 not_found_error naming the model, worded as recorded."""
    return ApiError(404, "not_found_error", f"model: {model}", **kwargs)


# ---------------------------------------------------------------- the server


def _estimate_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return max(1, len(text) // 4)


_PADDING = itertools.cycle([7, 0, 3, 15, 1, 9, 2, 22, 5, 0, 11])


def _sse(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event as the API sends it today: compact JSON padded with spaces inside its closing brace (a few to a
    couple of dozen, varying), except `ping`, which is `{"type": "ping"}` with a space after the colon."""
    if event == "ping":
        return b'event: ping\ndata: {"type": "ping"}\n\n'
    text = json.dumps(data, separators=(",", ":"))
    return f"event: {event}\ndata: {text[:-1]}{' ' * next(_PADDING)}}}\n\n".encode()


class AnthropicServer(FakeServer):
    """The fake Messages API. See the module docstring."""

    def __init__(
        self,
        *,
        strict: bool = True,
        cache_simulation: bool = True,
        min_cache_tokens: int = 0,
        api_key: str | None = None,
        models: set[str] | None = None,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        """When set, any other x-api-key gets the API's 401 (otherwise any key is accepted)."""
        self.models = models
        """When set, a request naming another model gets the API's 404 `model: <name>` (messages and models)."""
        self.strict = strict
        self.cache_simulation = cache_simulation
        self.min_cache_tokens = min_cache_tokens
        self.violations: list[str] = []
        self._lock = threading.Lock()
        self._queue: list[Item] = []
        self._responder: Responder | None = None
        self._seen_prefixes: set[str] = set()
        self._ids = itertools.count(1)
        self._closing: asyncio.Event | None = None

    def __enter__(self) -> AnthropicServer:
        self.start()
        return self

    # -- scripting (called from the test's thread)
    def queue(self, *items: Item) -> AnthropicServer:
        """Answer the next requests with these items, in order."""
        with self._lock:
            self._queue.extend(items)
        return self

    def respond_with(self, fn: Responder | None) -> AnthropicServer:
        """Answer with `fn(request_json)` whenever the queue is empty."""
        with self._lock:
            self._responder = fn
        return self

    def pending(self) -> int:
        """Queued items not used yet."""
        with self._lock:
            return len(self._queue)

    # -- inspection
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON body of every POST /v1/messages, in order."""
        with self._cond:
            return [r.json() for r in self.requests if r.path == MESSAGES_PATH and r.method == "POST"]

    def prefix(self, index: int) -> str:
        """Request `index`'s tools + system as serialised (key order as sent): the prompt-cache prefix."""
        body = self.bodies()[index]
        return json.dumps([body.get("tools"), body.get("system")], separators=(",", ":"))

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> None:
        """Block until `count` message requests arrived."""
        self.wait_for(lambda reqs: sum(r.path == MESSAGES_PATH for r in reqs) >= count, timeout)

    async def await_messages(self, count: int, timeout: float = 10.0) -> None:
        """`wait_for_messages` without blocking the event loop."""
        await asyncio.to_thread(self.wait_for_messages, count, timeout)

    # -- aiohttp
    def build_app(self) -> web.Application:
        """Routes: POST /v1/messages; anything else is the API's 404."""
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post(MESSAGES_PATH, self._messages)
        app.router.add_get("/v1/models/{model_id}", self._model)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    def stop(self) -> None:
        """Stop serving; requests still sleeping in a delay end at once."""
        if self._loop is not None and self._closing is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
        super().stop()

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self._closing is not None:
            try:
                await asyncio.wait_for(self._closing.wait(), seconds)
            except TimeoutError:
                pass

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._error_response(ApiError(404, "not_found_error", "Not Found"))

    def _refused(self, request: web.Request, model: Any) -> ApiError | None:
        """The API's answer to a missing or wrong key, or an unknown model (see `api_key`, `models`)."""
        bearer = request.headers.get("authorization", "")
        key = request.headers.get("x-api-key") or (bearer[7:] if bearer.startswith("Bearer ") else None)
        if not key:  # anthropic 2.x sends the key as `Authorization: Bearer`, older clients as `x-api-key`
            return ApiError(401, "authentication_error", "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            return authentication_error()
        if self.models is not None and model not in self.models:
            return model_not_found(str(model))
        return None

    async def _model(self, request: web.Request) -> web.Response:
        model = request.match_info["model_id"]
        if (refused := self._refused(request, model)) is not None:
            return self._error_response(refused)
        info = {"type": "model", "id": model, "display_name": model.replace("-", " ").title(), "created_at": "2026-02-17T00:00:00Z"}
        return web.json_response(info, headers=self._ok_headers())

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        refused = self._refused(request, body.get("model") if isinstance(body, dict) else None)
        if refused is not None and (refused.status == 401 or isinstance(body, dict)):  # the key is checked first
            return self._error_response(refused)
        if not isinstance(body, dict):
            return self._error_response(bad_request("There was an issue with your request body: invalid JSON"))
        if self.strict and (problem := self._validate(body)):
            with self._lock:
                self.violations.append(problem)
            return self._error_response(bad_request(problem))
        item = self._next_item(body)
        await self._sleep(item.delay)
        if isinstance(item, Disconnect):
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if isinstance(item, ApiError):
            return self._error_response(item)
        if isinstance(item, Raw):
            return web.Response(status=item.status, body=item.body, headers=item.headers)
        message = self._message(body, item)
        if body.get("stream"):
            return await self._stream(request, message, item)
        return web.json_response(message, headers=self._ok_headers())

    def _next_item(self, body: dict[str, Any]) -> Item:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            responder = self._responder
        if responder is not None:
            return responder(body)
        with self._lock:
            self.violations.append("unscripted request")
        return bad_request("FakeAnthropic: no scripted response left for this request")

    # -- responses
    def _request_id(self) -> str:
        return f"req_011CV{next(self._ids):019d}"

    def _ok_headers(self) -> dict[str, str]:
        return {
            "request-id": self._request_id(),
            "anthropic-organization-id": "00000000-0000-0000-0000-000000000000",
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "3999",
            "anthropic-ratelimit-requests-reset": "2026-11-18T14:30:01Z",
            "anthropic-ratelimit-input-tokens-limit": "2000000",
            "anthropic-ratelimit-input-tokens-remaining": "1999000",
            "anthropic-ratelimit-input-tokens-reset": "2026-11-18T14:30:01Z",
            "anthropic-ratelimit-output-tokens-limit": "400000",
            "anthropic-ratelimit-output-tokens-remaining": "400000",
            "anthropic-ratelimit-output-tokens-reset": "2026-11-18T14:30:01Z",
        }

    def _error_response(self, err: ApiError) -> web.Response:
        request_id = self._request_id()
        headers = {"request-id": request_id, "x-should-retry": "true" if err.status in (429, 500, 529) else "false"}
        headers.update(err.headers)
        return web.json_response(error_body(err.type, err.message, request_id), status=err.status, headers=headers)

    def _usage(self, body: dict[str, Any], reply: Reply, content: list[dict[str, Any]]) -> dict[str, int]:
        if reply.usage is not None:
            usage = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
            usage.update(reply.usage)
            return usage
        prefix = json.dumps([body.get("tools"), body.get("system")], separators=(",", ":"))
        prefix_tokens = _estimate_tokens(prefix)
        created = read = 0
        marked = "cache_control" in prefix
        if self.cache_simulation and marked and prefix_tokens >= self.min_cache_tokens:
            with self._lock:
                if prefix in self._seen_prefixes:
                    read = prefix_tokens
                else:
                    self._seen_prefixes.add(prefix)
                    created = prefix_tokens
        rest = _estimate_tokens(body.get("messages", []))
        return {
            "input_tokens": rest + (0 if (created or read) else prefix_tokens),
            "output_tokens": sum(_estimate_tokens(b) for b in content) if content else 1,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
        }

    @staticmethod
    def _usage_as_sent(usage: dict[str, Any]) -> dict[str, Any]:
        """Usage with the fields the API adds today (recorded): a `cache_creation` breakdown, the service tier."""
        return {
            **usage,
            "cache_creation": {"ephemeral_5m_input_tokens": usage.get("cache_creation_input_tokens", 0), "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
            "inference_geo": "not_available",
        }

    def _message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for part in reply.content:
            if isinstance(part, str):
                content.append({"type": "text", "text": part})
            else:
                tool_id = part.id or f"toolu_01{next(self._ids):022d}"
                part.id = tool_id
                content.append({"type": "tool_use", "id": tool_id, "name": part.name, "input": part.input, "caller": {"type": "direct"}})
        return {
            "id": f"msg_01{next(self._ids):022d}",
            "type": "message",
            "role": "assistant",
            "model": reply.model or body.get("model") or DEFAULT_MODEL,
            "content": content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "stop_details": reply.stop_details,
            "usage": self._usage_as_sent(self._usage(body, reply, content)),
        }

    async def _stream(self, request: web.Request, message: dict[str, Any], reply: Reply) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", **self._ok_headers()}
        )
        await response.prepare(request)
        usage = message["usage"]
        # message_start's output_tokens is an early estimate, often well above 1 (recorded: 62, 88).
        start = {**message, "content": [], "stop_reason": None, "stop_details": None, "usage": {**usage, "output_tokens": min(62, usage["output_tokens"])}}
        await response.write(_sse("message_start", {"type": "message_start", "message": start}))
        if reply.cut_after == 0:
            return await self._cut(request, response, reply)
        first_delta = True
        for index, (block, part) in enumerate(zip(message["content"], reply.content, strict=True)):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                chunks = [block["text"][i : i + reply.chunk_size] for i in range(0, len(block["text"]), reply.chunk_size)]
                deltas = [{"type": "text_delta", "text": c} for c in chunks]
            else:
                assert isinstance(part, ToolUse)
                opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}, "caller": {"type": "direct"}}
                raw = part.raw_json if part.raw_json is not None else json.dumps(block["input"])
                pieces = [""] + [raw[i : i + reply.chunk_size] for i in range(0, len(raw), reply.chunk_size)]
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
            await response.write(
                _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})
            )
            if index == 0:  # recorded streams ping between the first block's start and its first delta
                await response.write(_sse("ping", {"type": "ping"}))
            for delta in deltas:
                await response.write(
                    _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                )
                if first_delta and reply.gate is not None:
                    first_delta = False
                    gate = reply.gate
                    await asyncio.to_thread(gate.wait, 10)
            cut_in_tool = reply.stop_reason == "max_tokens" and block["type"] == "tool_use" and index == len(message["content"]) - 1
            if not cut_in_tool:  # the output limit hit inside a tool call: no content_block_stop (recorded)
                await response.write(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            if reply.stream_error is not None:
                err = reply.stream_error
                await response.write(_sse("error", error_body(err.type, err.message, self._request_id())))
                await response.write_eof()
                return response
            if isinstance(reply.cut_after, int) and index + 1 >= reply.cut_after:
                return await self._cut(request, response, reply)
        delta_event = {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None, "stop_details": reply.stop_details},
            # message_delta repeats the input and cache counters, not only output_tokens (recorded).
            "usage": {
                **{k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens") if k in usage},
                "output_tokens": usage["output_tokens"],
                "output_tokens_details": {"thinking_tokens": 0},
            },
        }
        await response.write(_sse("message_delta", delta_event))
        if reply.cut_after == "message_delta":
            return await self._cut(request, response, reply)
        await response.write(_sse("message_stop", {"type": "message_stop"}))
        await response.write_eof()
        return response

    @staticmethod
    async def _cut(request: web.Request, response: web.StreamResponse, reply: Reply) -> web.StreamResponse:
        """End a stream early, without message_delta / message_stop (see `Reply.cut_by`)."""
        if reply.cut_by == "reset" and request.transport is not None:
            request.transport.close()
        else:
            await response.write_eof()
        return response

    # -- validation, with the API's wording
    def _validate(self, body: dict[str, Any]) -> str | None:
        if not isinstance(body.get("max_tokens"), int):
            return "max_tokens: Field required"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: at least one message is required"
        if messages[0].get("role") != "user":
            return 'messages: first message must use the "user" role'
        return self._validate_tools(body) or self._validate_messages(messages) or self._validate_cache(body)

    def _validate_tools(self, body: dict[str, Any]) -> str | None:
        names = [t.get("name", "") for t in body.get("tools", [])]
        for i, name in enumerate(names):
            if not _TOOL_NAME.match(name):
                return f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        if len(set(names)) != len(names):
            return "tools: Tool names must be unique."
        choice = body.get("tool_choice")
        if choice and choice.get("type") == "tool" and choice.get("name") not in names:
            return f"tool_choice: tool {choice.get('name')!r} not found in tools"
        return None

    def _validate_messages(self, messages: list[dict[str, Any]]) -> str | None:
        previous_ids: list[str] = []
        for i, msg in enumerate(messages):
            content = msg.get("content")
            blocks: list[dict[str, Any]] = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
            last = i == len(messages) - 1
            if not blocks and not (last and msg.get("role") == "assistant"):
                return f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            for j, block in enumerate(blocks):
                if block.get("type") == "text" and not block.get("text", "").strip() and not (last and msg["role"] == "assistant"):
                    return f"messages.{i}.content.{j}: text content blocks must contain non-whitespace text"
            if msg.get("role") == "user":
                results = [b for b in blocks if b.get("type") == "tool_result"]
                answered = [b.get("tool_use_id") for b in results]
                unexpected = [tid for tid in answered if tid not in previous_ids]
                if unexpected:
                    return (
                        f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{unexpected[0]}. Each `tool_result` block must have a corresponding `tool_use` block in "
                        "the previous message."
                    )
                if results and any(b.get("type") != "tool_result" for b in blocks[: len(results)]):
                    return f"messages.{i}: tool_result blocks must come first in the content array"
                for b in results:
                    if b.get("is_error") and isinstance(b.get("content"), list):
                        if any(c.get("type") != "text" for c in b["content"]):
                            return f"messages.{i}: is_error tool_result content must be text"
            missing = [tid for tid in previous_ids if msg.get("role") != "user" or tid not in _result_ids(blocks)]
            if missing:
                return (
                    f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block in "
                    "the next message."
                )
            previous_ids = [b["id"] for b in blocks if b.get("type") == "tool_use"] if msg.get("role") == "assistant" else []
        return None

    def _validate_cache(self, body: dict[str, Any]) -> str | None:
        count = json.dumps(body).count('"cache_control"')
        if count > 4:
            return f"A maximum of 4 blocks with cache_control may be provided. Found {count}."
        return None


def _result_ids(blocks: list[dict[str, Any]]) -> set[str]:
    return {b.get("tool_use_id", "") for b in blocks if b.get("type") == "tool_result"}
