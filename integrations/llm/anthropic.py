"""`AnthropicLLM`: the `LLM` protocol on the Messages API through an injected `AsyncAnthropic`.

The SDK's own retries are off (`max_retries=0`); this adapter retries transient failures itself with bounded
backoff, then maps what is left to `bot.errors.ModelError`. A `retry-after` longer than our cap fails at once
(a Slack thread never waits that long, and retrying sooner than asked would only be refused again).
Streaming reads the raw event stream rather than `messages.stream()`: the SDK's accumulator raises on malformed
partial tool JSON and ends the stream, while here such a call only gets `input_error`.

A response is only returned complete: a stream that ends before `message_stop` (a dropped connection, a proxy
cutting it short) or a message without a stop_reason raises `ModelUnavailable`, so the tool calls of a truncated
response are never seen, let alone run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2
from anthropic import AsyncAnthropic

from bot.errors import ModelError, ModelRateLimited, ModelRequestError, ModelUnavailable
from bot.logs import get_logger, log_event
from integrations.llm.base import (
    Message,
    ModelResponse,
    StopReason,
    TextBlock,
    TextCallback,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
    Usage,
)

if TYPE_CHECKING:
    from bot.settings import Settings

logger = get_logger("llm")

EPHEMERAL = {"type": "ephemeral"}
_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "pause_turn": "pause_turn",
    "refusal": "refusal",
    "stop_sequence": "stop_sequence",
    "model_context_window_exceeded": "context_exceeded",
}
_RETRIED_STATUSES = {408, 409, 429, 500, 502, 503, 504, 529}
_PROMPT_TOO_LONG = "prompt is too long"


class AnthropicLLM:
    """The Messages API behind the provider-neutral `LLM` protocol."""

    def __init__(
        self,
        *,
        client: AsyncAnthropic,
        model: str,
        max_retries: int = 3,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.model = model
        self.max_retries = max_retries
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings, *, client: AsyncAnthropic | None = None) -> AnthropicLLM:
        """Build the client from settings (SDK retries off; our timeout), or wrap the given one."""
        if client is None:
            key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
            client = AsyncAnthropic(
                api_key=key,
                base_url=settings.anthropic_base_url,
                max_retries=0,
                timeout=settings.chatops_llm_timeout_seconds,
            )
        return cls(
            client=client,
            model=settings.chatops_model,
            max_retries=settings.chatops_llm_max_retries,
            retry_base_seconds=settings.chatops_llm_retry_base_seconds,
            retry_max_seconds=settings.chatops_llm_retry_max_seconds,
        )

    async def complete(
        self,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        tool_choice: ToolChoice | None = None,
        max_tokens: int,
        on_text: TextCallback | None = None,
        user_hash: str | None = None,
        model: str | None = None,
    ) -> ModelResponse:
        """One request (to `model`, default the configured one), retried with bounded backoff on
        429/5xx/529/timeouts/connection errors."""
        params = build_params(
            model=model or self.model,
            system=system,
            messages=messages,
            tools=tools,
            tool_choice=tool_choice,
            max_tokens=max_tokens,
            user_hash=user_hash,
        )
        attempt = 0
        while True:
            streamed = _Streamed()
            try:
                if on_text is None:
                    raw = await self.client.messages.create(**params)
                    return parse_message(raw.to_dict(warnings=False), request_id=raw._request_id)
                return await self._stream(params, on_text, streamed)
            except anthropic.APIStatusError as exc:
                if exc.status_code == 400 and _PROMPT_TOO_LONG in (exc.api_message or str(exc)).lower():
                    return _context_exceeded(exc)
                error: ModelError = _classify(exc)
                if isinstance(error, ModelRequestError):
                    raise error from None
                retry_after = _retry_after(exc.response.headers)
            except anthropic.APIConnectionError as exc:  # includes APITimeoutError
                error = ModelUnavailable(f"model API unreachable: {type(exc).__name__}")
                retry_after = None
            except httpx2.TransportError as exc:  # the SDK does not wrap errors raised while a stream is read
                error = ModelUnavailable(f"model stream broke off: {type(exc).__name__}")
                retry_after = None
            except ModelUnavailable as exc:  # an incomplete response (see the module docstring)
                error, retry_after = exc, None
            # Text already shown to the user cannot be taken back: retrying would repeat it.
            if attempt >= self.max_retries or streamed.emitted:
                raise error
            if retry_after is not None and retry_after > self.retry_max_seconds:
                log_event(logger, "model retry-after over the cap", logging.WARNING, retry_after_s=retry_after, error=str(error))
                raise type(error)(f"{error}; asked to retry after {retry_after:g} s, longer than the {self.retry_max_seconds:g} s we wait")
            wait = self._backoff(attempt, retry_after)
            log_event(logger, "model retry", logging.WARNING, attempt=attempt + 1, wait_s=round(wait, 3), error=str(error))
            await self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:  # at most the cap: a longer one failed before getting here
            return retry_after
        return max(0.0, min(self.retry_base_seconds * 2**attempt * (1 - 0.25 * random.random()), self.retry_max_seconds))

    async def _stream(self, params: dict[str, Any], on_text: TextCallback, streamed: _Streamed) -> ModelResponse:
        stream = await self.client.messages.create(**params, stream=True)
        builder = _StreamBuilder()
        try:
            async for event in stream:
                delta = builder.feed(event.to_dict(warnings=False))
                if delta:
                    streamed.emitted = True
                    await on_text(delta)
        finally:
            await stream.close()
        return builder.result(request_id=stream.response.headers.get("request-id"))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.close()


class _Streamed:
    """Whether any text reached the caller during this attempt."""

    emitted = False


# ---------------------------------------------------------------- request mapping


def build_params(
    *,
    model: str,
    system: str,
    messages: list[Message],
    tools: list[ToolSpec],
    tool_choice: ToolChoice | None,
    max_tokens: int,
    user_hash: str | None,
) -> dict[str, Any]:
    """The Messages API request: cache breakpoints on the last tool, the system block and the last message."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "system": [{"type": "text", "text": system, "cache_control": EPHEMERAL}],
        "messages": _messages_param(messages),
    }
    if tools:
        specs = [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in tools]
        specs[-1]["cache_control"] = EPHEMERAL
        params["tools"] = specs
    if tool_choice is not None and tool_choice.type != "auto":
        choice: dict[str, Any] = {"type": tool_choice.type}
        if tool_choice.type == "tool":
            choice["name"] = tool_choice.name
        params["tool_choice"] = choice
    if user_hash:
        params["metadata"] = {"user_id": user_hash}
    return params


def _messages_param(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        blocks = [b for b in (_block_param(b) for b in message.content) if b is not None]
        if not blocks:
            # The API rejects empty messages and empty text blocks; keep the turn structure.
            blocks = [{"type": "text", "text": "(no content)"}]
        out.append({"role": message.role, "content": blocks})
    if out:
        # A moving breakpoint on the newest block caches the conversation so far across steps.
        last = out[-1]["content"][-1]
        out[-1]["content"][-1] = {**last, "cache_control": EPHEMERAL}
    return out


def _block_param(block: TextBlock | ToolCall | ToolResult) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text} if block.text.strip() else None
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    return {
        "type": "tool_result",
        "tool_use_id": block.tool_call_id,
        "content": block.content or "(empty)",
        "is_error": block.is_error,
    }


# ---------------------------------------------------------------- response mapping


def parse_message(data: dict[str, Any], *, request_id: str | None) -> ModelResponse:
    """Map a Messages API message (as a dict) to a ModelResponse."""
    content: list[TextBlock | ToolCall | ToolResult] = []
    for block in data.get("content") or []:
        if block.get("type") == "text":
            content.append(TextBlock(text=block.get("text", "")))
        elif block.get("type") == "tool_use":
            content.append(_tool_call(block["id"], block["name"], block.get("input")))
    reason = data.get("stop_reason")
    if reason is None:
        raise ModelUnavailable(f"model response incomplete: no stop_reason (request id {request_id})")
    details = data.get("stop_details") or {}
    return ModelResponse(
        message=Message(role="assistant", content=content),
        stop_reason=_stop_reason(reason),
        usage=_usage(data.get("usage") or {}),
        model=data.get("model") or "",
        request_id=request_id,
        refusal_detail=(details.get("explanation") or details.get("category")) if details else None,
    )


def _tool_call(call_id: str, name: str, raw_input: Any) -> ToolCall:
    if isinstance(raw_input, dict):
        return ToolCall(id=call_id, name=name, input=raw_input)
    got = type(raw_input).__name__
    return ToolCall(id=call_id, name=name, input={}, input_error=f"the tool input must be a JSON object, got {got}")


def _stop_reason(value: str) -> StopReason:
    mapped = _STOP_REASONS.get(value)
    if mapped is None:
        # Answered as text; the loop runs tool calls only on `tool_use`, so an unknown reason never runs one.
        log_event(logger, "unknown stop_reason", logging.WARNING, stop_reason=value)
        return "end_turn"
    return mapped


def _usage(data: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=data.get("input_tokens") or 0,
        output_tokens=data.get("output_tokens") or 0,
        cache_read_tokens=data.get("cache_read_input_tokens") or 0,
        cache_write_tokens=data.get("cache_creation_input_tokens") or 0,
    )


def _context_exceeded(exc: anthropic.APIStatusError) -> ModelResponse:
    log_event(logger, "prompt too long", logging.WARNING, request_id=exc.request_id)
    return ModelResponse(
        message=Message(role="assistant", content=[]), stop_reason="context_exceeded", request_id=exc.request_id
    )


def _classify(exc: anthropic.APIStatusError) -> ModelError:
    """Errors mid-stream arrive on a 200 response, so the body's error type counts as much as the status."""
    status, kind, text = exc.status_code, exc.type or "", _describe(exc)
    if status in (429, 529) or kind in ("rate_limit_error", "overloaded_error"):
        return ModelRateLimited(text)
    if status in _RETRIED_STATUSES or status >= 500 or kind in ("api_error", "timeout_error"):
        return ModelUnavailable(text)
    return ModelRequestError(text)


def _describe(exc: anthropic.APIStatusError) -> str:
    kind = exc.type or type(exc).__name__
    message = exc.api_message or ""
    return f"model API error {exc.status_code} {kind}: {message} (request id {exc.request_id})".replace(": (", " (")


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


class _StreamBuilder:
    """Accumulates raw stream events into a ModelResponse; malformed tool JSON becomes `input_error`."""

    def __init__(self) -> None:
        self.message: dict[str, Any] = {"content": [], "usage": {}}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json_parts: dict[int, list[str]] = {}
        self.stopped = False
        """`message_stop` arrived: the stream is complete."""

    def feed(self, event: dict[str, Any]) -> str:
        """Apply one event; return a text delta to show, or ''."""
        kind = event.get("type")
        if kind == "message_start":
            start = event["message"]
            self.message.update({k: v for k, v in start.items() if k != "content"})
            self.message["usage"] = dict(start.get("usage") or {})
        elif kind == "content_block_start":
            self.blocks[event["index"]] = dict(event["content_block"])
            self.json_parts[event["index"]] = []
        elif kind == "content_block_delta":
            return self._delta(event["index"], event["delta"])
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            self.message["stop_reason"] = delta.get("stop_reason")
            self.message["stop_details"] = delta.get("stop_details")
            for key, value in (event.get("usage") or {}).items():
                if value is not None:  # message_delta usage is cumulative; absent fields keep the start's value
                    self.message["usage"][key] = value
        elif kind == "message_stop":
            self.stopped = True
        return ""

    def _delta(self, index: int, delta: dict[str, Any]) -> str:
        block = self.blocks.get(index)
        if block is None:
            return ""
        if delta.get("type") == "text_delta" and block.get("type") == "text":
            block["text"] = block.get("text", "") + delta["text"]
            return str(delta["text"])
        if delta.get("type") == "input_json_delta":
            self.json_parts[index].append(delta.get("partial_json", ""))
        return ""

    def result(self, *, request_id: str | None) -> ModelResponse:
        """The finished response; `ModelUnavailable` when the stream ended before `message_stop`."""
        if not self.stopped:
            got = "no stop_reason" if self.message.get("stop_reason") is None else "no message_stop"
            raise ModelUnavailable(f"model stream ended early: {got} (request id {request_id})")
        response = parse_message({**self.message, "content": []}, request_id=request_id)
        content = response.message.content
        for index in sorted(self.blocks):
            block = self.blocks[index]
            if block.get("type") == "text":
                content.append(TextBlock(text=block.get("text", "")))
            elif block.get("type") == "tool_use":
                content.append(self._streamed_call(block, "".join(self.json_parts[index])))
        return response

    @staticmethod
    def _streamed_call(block: dict[str, Any], raw: str) -> ToolCall:
        if not raw.strip():
            return _tool_call(block["id"], block["name"], block.get("input") or {})
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            error = f"the tool input was not valid JSON ({exc.msg} at character {exc.pos})"
            return ToolCall(id=block["id"], name=block["name"], input={}, input_error=error)
        return _tool_call(block["id"], block["name"], parsed)
