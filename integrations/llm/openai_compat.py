"""`OpenAICompatLLM`: the `LLM` protocol on OpenAI-compatible Chat Completions (OpenAI, vLLM, Ollama, llama.cpp
server) through the `openai` SDK with a base URL.

Mapping (see `openai_wire.py`): our tool calls ↔ `tool_calls` with the same ids; each tool result is one `tool`
message; `finish_reason` → our stop reasons (`length` → `max_tokens`, so a truncated call is never run); a forced
tool choice → `required` or a named function. No cache_control (servers cache on their own); usage is recorded as
the server reports it. Malformed tool-call JSON becomes `input_error`, which the executor answers with the same
validation feedback as on the Anthropic API. Anthropic-native blocks (thinking) are never sent here.

Like `AnthropicLLM`: the SDK's retries are off; ours are bounded and never repeat text already streamed; a stream
that ends without a `finish_reason` raises `ModelUnavailable`, so its tool calls are never seen.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx2
import openai
from openai import AsyncOpenAI

from integrations.errors import ModelError, ModelRateLimited, ModelRequestError, ModelUnavailable
from integrations.llm.base import Message, ModelResponse, TextCallback, ToolChoice, ToolSpec
from integrations.llm.openai_wire import ChunkBuilder, build_params, parse_completion
from integrations.logs import get_logger, log_event

if TYPE_CHECKING:
    from integrations.llm.config import LLMConfig

logger = get_logger("llm")

_RETRIED_STATUSES = {408, 409, 429, 500, 502, 503, 504}
_CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "context length", "too many tokens")


class OpenAICompatLLM:
    """Chat Completions behind the provider-neutral `LLM` protocol."""

    def __init__(
        self,
        *,
        client: AsyncOpenAI,
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
    def from_config(cls, config: LLMConfig, *, http_client: Any = None) -> OpenAICompatLLM:
        """The client from OPENAI_BASE_URL / OPENAI_API_KEY (SDK retries off; our timeout)."""
        client = AsyncOpenAI(
            api_key=config.openai_api_key,
            base_url=config.openai_base_url,
            max_retries=0,
            timeout=config.timeout_seconds,
            http_client=http_client,
        )
        return cls(
            client=client,
            model=config.model,
            max_retries=config.max_retries,
            retry_base_seconds=config.retry_base_seconds,
            retry_max_seconds=config.retry_max_seconds,
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
        """One request, retried with bounded backoff on 429/5xx/timeouts/connection errors."""
        params = build_params(
            model=model or self.model, system=system, messages=messages, tools=tools, tool_choice=tool_choice, max_tokens=max_tokens
        )
        attempt = 0
        while True:
            emitted = [False]
            try:
                if on_text is None:
                    raw = await self.client.chat.completions.create(**params)
                    return parse_completion(raw.to_dict(warnings=False), request_id=getattr(raw, "_request_id", None))
                return await self._stream(params, on_text, emitted)
            except openai.APIStatusError as exc:
                text = _describe(exc)
                if exc.status_code == 400 and any(m in text.lower() for m in _CONTEXT_MARKERS):
                    log_event(logger, "prompt too long", logging.WARNING, request_id=exc.request_id)
                    return ModelResponse(message=Message(role="assistant", content=[]), stop_reason="context_exceeded")
                error: ModelError = _classify(exc.status_code, text)
                if isinstance(error, ModelRequestError):
                    raise error from None
                retry_after = _retry_after(exc.response.headers)
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                error, retry_after = ModelUnavailable(f"model API unreachable: {type(exc).__name__}"), None
            except httpx2.TransportError as exc:
                error, retry_after = ModelUnavailable(f"model stream broke off: {type(exc).__name__}"), None
            except ModelUnavailable as exc:
                error, retry_after = exc, None
            if attempt >= self.max_retries or emitted[0]:
                raise error
            if retry_after is not None and retry_after > self.retry_max_seconds:
                raise type(error)(f"{error}; asked to retry after {retry_after:g} s, longer than the {self.retry_max_seconds:g} s we wait")
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            log_event(logger, "model retry", logging.WARNING, attempt=attempt + 1, wait_s=round(wait, 3), error=str(error))
            await self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return max(0.0, min(self.retry_base_seconds * 2**attempt * (1 - 0.25 * random.random()), self.retry_max_seconds))

    async def _stream(self, params: dict[str, Any], on_text: TextCallback, emitted: list[bool]) -> ModelResponse:
        stream = await self.client.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
        builder = ChunkBuilder()
        try:
            async for chunk in stream:
                delta = builder.feed(chunk.to_dict(warnings=False))
                if delta:
                    emitted[0] = True
                    await on_text(delta)
        finally:
            await stream.close()
        return builder.result(request_id=stream.response.headers.get("x-request-id"))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.close()


def _classify(status: int, text: str) -> ModelError:
    if status == 429:
        return ModelRateLimited(text)
    if status in _RETRIED_STATUSES or status >= 500:
        return ModelUnavailable(text)
    return ModelRequestError(text)


def _describe(exc: openai.APIStatusError) -> str:
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    nested = body.get("error")
    error: dict[str, Any] = nested if isinstance(nested, dict) else body
    message = str(error.get("message") or exc.message or "")[:300]
    code = error.get("code") or error.get("type") or type(exc).__name__
    return f"model API error {exc.status_code} {code}: {message} (request id {exc.request_id})"


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None
