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
Beside it: the streaming (anthropic_stream.py) and the wire rules, validation and cache simulation (anthropic_wire.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes.anthropic_stream import StreamMixin
from tests.fakes.anthropic_wire import PromptCache, error_body, request_problem, usage_as_sent
from tests.fakes.base import FakeServer

MESSAGES_PATH = "/v1/messages"
DEFAULT_MODEL = "claude-sonnet-4-6"


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


class AnthropicServer(StreamMixin, FakeServer):
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
        self.cache = PromptCache(enabled=cache_simulation, min_tokens=min_cache_tokens)
        self.violations: list[str] = []
        self._lock = threading.Lock()
        self._queue: list[Item] = []
        self._responder: Responder | None = None
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
        if self.strict and (problem := request_problem(body)):
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
            "usage": usage_as_sent(self.cache.usage(body, reply.usage, content)),
        }
