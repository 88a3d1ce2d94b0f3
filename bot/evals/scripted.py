"""`--provider scripted`: a local Messages API server that replays each task's `script`, so the harness is checked
over the same path as a real provider (the `anthropic` SDK and `AnthropicLLM` over HTTP, streamed), without a model.

Each try gets its own base URL (`/tries/<task>.<try>`), so concurrent tries never take each other's responses;
every request to `<base>/v1/messages` answers with the try's next scripted step: tool calls (`tool_use` blocks,
several = parallel) or a text answer, as JSON or, when the request streams, as server-sent events in the API's
order (message_start, content blocks with text / input_json deltas, message_delta, message_stop). Usage is
estimated as an API would count it (about four bytes a token of what was sent and what was answered), so the token,
cost and latency columns are exercised too. A script that runs out answers 400 `invalid_request_error` naming the
task and step, and the try fails with that reason.

    server = ScriptServer()
    await server.start()
    llm = server.llm(settings, task, index)    # an AnthropicLLM whose base URL is this try's
    ...
    await server.aclose()
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import SecretStr

from bot.evals.tasks import ScriptStep, Task
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM

if TYPE_CHECKING:
    from bot.settings import Settings

MODEL = "scripted"
API_KEY = "scripted-no-key"
"""What the SDK sends as its key (the server accepts any; nothing real is ever sent)."""
CHUNK = 24
"""Characters per streamed text or tool-input delta."""


@dataclass
class _Try:
    task: Task
    steps: list[ScriptStep]
    requests: int = 0


@dataclass
class ScriptServer:
    """The Messages API replaying scripts, on 127.0.0.1 (an ephemeral port), in the caller's event loop."""

    url: str = ""
    requests: int = 0
    _tries: dict[str, _Try] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _root: AnthropicLLM | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> None:
        """Listen on an ephemeral port."""
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/tries/{slot}/v1/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"  # type: ignore[attr-defined]

    def base_url(self, task: Task, index: int) -> str:
        """This try's API base URL (its own copy of the script)."""
        slot = f"{task.id}.{index}"
        self._tries[slot] = _Try(task, list(task.script))
        return f"{self.url}/tries/{slot}"

    def llm(self, settings: Settings, task: Task, index: int) -> AnthropicLLM:
        """The provider as `chatops run` builds it (`AnthropicLLM.from_config(llm_config(settings))`), pointed at this try's script.
        Tries share one HTTP client (`with_options` copies only the base URL): building a client costs ~75 ms.
        `aclose` closes it; the tries' own LLMs must not."""
        update = {
            "anthropic_base_url": self.url,
            "anthropic_api_key": SecretStr(API_KEY),
            "chatops_model": MODEL,
            "chatops_thinking_budget": 0,
        }
        scripted = settings.model_copy(update=update)
        if self._root is None:
            self._root = AnthropicLLM.from_config(llm_config(scripted))
        client = self._root.client.with_options(base_url=self.base_url(task, index))
        return AnthropicLLM.from_config(llm_config(scripted), client=client)

    async def aclose(self) -> None:
        """Close the shared client; stop listening."""
        if self._root is not None:
            await self._root.aclose()
            self._root = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------ the API

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "invalid_request_error", "the request body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not isinstance(body.get("max_tokens"), int):
            return _error(400, "invalid_request_error", "messages and max_tokens are required")
        if problem := request_problem(body):
            return _error(400, "invalid_request_error", problem)
        current = self._tries.get(request.match_info["slot"])
        if current is None:
            return _error(400, "invalid_request_error", f"no scripted try {request.match_info['slot']!r}")
        current.requests += 1
        if not current.steps:
            return _error(
                400, "invalid_request_error", f"task {current.task.id}: the script has no response left for step {current.requests}"
            )
        message = self._message(current.steps.pop(0), input_bytes=len(raw))
        if body.get("stream"):
            return await self._stream(request, message)
        return web.json_response(message, headers=self._headers())

    def _message(self, step: ScriptStep, *, input_bytes: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": step.text}] if step.text else []
        for entry in step.tools:
            for name, arguments in entry.items():
                content.append({"type": "tool_use", "id": f"toolu_scripted{next(self._ids):012d}", "name": name, "input": arguments})
        calls = any(block["type"] == "tool_use" for block in content)
        usage = {
            "input_tokens": input_bytes // 4,
            "output_tokens": max(1, len(json.dumps(content)) // 4),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        return {
            "id": f"msg_scripted{next(self._ids):012d}", "type": "message", "role": "assistant", "model": MODEL,
            "content": content, "stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None, "usage": usage,
        }  # fmt: skip

    async def _stream(self, request: web.Request, message: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream; charset=utf-8", **self._headers()})
        await response.prepare(request)
        usage = message["usage"]
        start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
        await response.write(_sse("message_start", {"type": "message_start", "message": start}))
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"])]
            else:
                opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_pieces(json.dumps(block["input"]))]]
            await response.write(_sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}))
            for delta in deltas:
                await response.write(_sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            await response.write(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        end = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        await response.write(_sse("message_delta", {"type": "message_delta", "delta": end, "usage": {"output_tokens": usage["output_tokens"]}}))
        await response.write(_sse("message_stop", {"type": "message_stop"}))
        await response.write_eof()
        return response

    def _headers(self) -> dict[str, str]:
        return {"request-id": f"req_scripted{next(self._ids):012d}"}


def request_problem(body: dict[str, Any]) -> str | None:
    """What the real API would refuse in this request (with its wording), so the harness fails where a real run
    would: the first message not the user's, an empty text block, a `tool_use` not answered by a `tool_result` at the
    start of the next message (or an answer to no call), duplicate tool names, more than 4 cache breakpoints."""
    messages = body["messages"]
    if not messages or not isinstance(messages[0], dict) or messages[0].get("role") != "user":
        return 'messages: first message must use the "user" role'
    names = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
    if len(set(names)) != len(names):
        return "tools: Tool names must be unique."
    if (count := json.dumps(body).count('"cache_control"')) > 4:
        return f"A maximum of 4 blocks with cache_control may be provided. Found {count}."
    calls: list[str] = []
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [b for b in content or [] if isinstance(b, dict)]
        if any(b.get("type") == "text" and not str(b.get("text", "")).strip() for b in blocks):
            return f"messages.{i}: text content blocks must contain non-whitespace text"
        answers = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        if blocks[: len(answers)] != [b for b in blocks if b.get("type") == "tool_result"]:
            return f"messages.{i}: tool_result blocks must come first in the content array"
        if unexpected := [a for a in answers if a not in calls]:
            return f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: {unexpected[0]}"
        if missing := [c for c in calls if c not in answers]:
            return f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks immediately after: {', '.join(missing)}"
        calls = [str(b.get("id")) for b in blocks if b.get("type") == "tool_use"] if message.get("role") == "assistant" else []
    return None


def _pieces(text: str) -> list[str]:
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _error(status: int, kind: str, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status, headers={"x-should-retry": "false"})
