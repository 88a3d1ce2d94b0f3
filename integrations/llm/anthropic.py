"""`AnthropicLLM`: the `LLM` protocol on the Messages API through an injected `AsyncAnthropic`.

The SDK's own retries are off (`max_retries=0`); this adapter retries transient failures itself with bounded
backoff, then maps what is left to `integrations.errors.ModelError`. A `retry-after` longer than our cap fails at once
(a Slack thread never waits that long, and retrying sooner than asked would only be refused again).
Streaming reads the raw event stream rather than `messages.stream()`: the SDK's accumulator raises on malformed
partial tool JSON and ends the stream, while here such a call only gets `input_error`.

What a call costs the bot is kept small (issue #12): the first-party client is sent a body we encode, with the system
block and the tool catalogue encoded once (anthropic_body.py), through the SDK's public `client.post`, instead of
having `messages.create` copy and encode the whole request again; a stream is read as the SDK's raw Server-Sent
Events (`AsyncStream.raw_events`: each event's JSON as the API sent it, no typed event built and dumped back to a
dict); and the SDK's own OpenTelemetry spans are off on the clients we build (ours cover the call, and the SDK
would otherwise put our trace context in a `traceparent` header to the provider).

A response is only returned complete: a stream that ends before `message_stop` (a dropped connection, a proxy
cutting it short) or a message without a stop_reason raises `ModelUnavailable`, so the tool calls of a truncated
response are never seen, let alone run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2
from anthropic import AsyncAnthropic, AsyncAnthropicBedrock, AsyncAnthropicVertex, AsyncStream, RequestOptions
from anthropic.types import Message as APIMessage
from anthropic.types import RawMessageStreamEvent

from integrations.errors import Misconfigured, ModelError, ModelRequestError, ModelUnavailable
from integrations.llm.anthropic_body import BodyEncoder, sdk_warnings
from integrations.llm.anthropic_errors import classify, retry_after
from integrations.llm.anthropic_wire import StreamBuilder, build_params, parse_message
from integrations.llm.base import Message, ModelResponse, TextCallback, ToolChoice, ToolSpec
from integrations.logs import get_logger, log_event

if TYPE_CHECKING:
    from integrations.llm.config import LLMConfig

__all__ = ["AnthropicLLM", "build_params", "parse_message"]

logger = get_logger("llm")

AnthropicClient = AsyncAnthropic | AsyncAnthropicBedrock | AsyncAnthropicVertex
MESSAGES_PATH = "/v1/messages"
_PROMPT_TOO_LONG = "prompt is too long"


class AnthropicLLM:
    """The Messages API behind the provider-neutral `LLM` protocol."""

    def __init__(
        self,
        *,
        client: AnthropicClient,
        model: str,
        max_retries: int = 3,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        thinking_budget: int = 0,
    ) -> None:
        self.client = client
        self.thinking_budget = thinking_budget
        """Extended thinking's token budget per request; 0 is off."""
        self.extra_body: dict[str, Any] | None = None
        """Extra request-body fields (Bedrock and Vertex: their `anthropic_version`)."""
        self.model = model
        self.max_retries = max_retries
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self._sleep = sleep
        self.body_encoder = BodyEncoder() if type(client) is AsyncAnthropic else None
        """The first-party client is sent our encoded body (see the module docstring); Bedrock and Vertex reshape
        the body in their clients, so they get `messages.create`."""
        self._sse = not isinstance(client, AsyncAnthropicBedrock)
        """Bedrock streams AWS event-stream frames, which only the SDK's stream decodes; the others Server-Sent Events."""

    @classmethod
    def from_config(cls, config: LLMConfig, *, client: AnthropicClient | None = None) -> AnthropicLLM:
        """Build the first-party client from the config (SDK retries off; our timeout), or wrap the given one
        (a Bedrock or Vertex client from `integrations.llm.providers`)."""
        if client is None:
            client = AsyncAnthropic(
                api_key=config.anthropic_api_key,
                base_url=config.anthropic_base_url,
                max_retries=0,
                timeout=config.timeout_seconds,
                open_telemetry=False,
            )
        return cls(
            client=client,
            model=config.model,
            max_retries=config.max_retries,
            retry_base_seconds=config.retry_base_seconds,
            retry_max_seconds=config.retry_max_seconds,
            thinking_budget=config.thinking_budget,
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
            thinking_budget=self.thinking_budget,
        )
        if self.extra_body:
            params["extra_body"] = self.extra_body
        attempt = 0
        while True:
            streamed = _Streamed()
            try:
                body = self._body(params, system, tools, stream=on_text is not None)
                if on_text is None:
                    return await self._message(params, body)
                return await self._stream(params, body, on_text, streamed)
            except anthropic.APIStatusError as exc:
                if exc.status_code == 400 and _PROMPT_TOO_LONG in (exc.api_message or str(exc)).lower():
                    return _context_exceeded(exc)
                error: ModelError = classify(exc, model=params["model"], credentials=self.credentials)
                if isinstance(error, ModelRequestError | Misconfigured):
                    raise error from None  # retrying cannot help: our request or a setting must change
                wait_hint = retry_after(exc.response.headers)
            except anthropic.APIConnectionError as exc:  # includes APITimeoutError
                error = ModelUnavailable(f"model API unreachable: {type(exc).__name__}")
                wait_hint = None
            except httpx2.TransportError as exc:  # the SDK does not wrap errors raised while a stream is read
                error = ModelUnavailable(f"model stream broke off: {type(exc).__name__}")
                wait_hint = None
            except ModelUnavailable as exc:  # an incomplete response (see the module docstring)
                error, wait_hint = exc, None
            except Exception as exc:
                if not _credentials_error(exc):
                    raise
                raise ModelRequestError(f"model provider credentials: {type(exc).__name__}: {exc}"[:500]) from None
            # Text already shown to the user cannot be taken back: retrying would repeat it.
            if attempt >= self.max_retries or streamed.emitted:
                raise error
            if wait_hint is not None and wait_hint > self.retry_max_seconds:
                log_event(logger, "model retry-after over the cap", logging.WARNING, retry_after_s=wait_hint, error=str(error))
                raise type(error)(f"{error}; asked to retry after {wait_hint:g} s, longer than the {self.retry_max_seconds:g} s we wait")
            wait = self._backoff(attempt, wait_hint)
            log_event(logger, "model retry", logging.WARNING, attempt=attempt + 1, wait_s=round(wait, 3), error=str(error))
            await self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:  # at most the cap: a longer one failed before getting here
            return retry_after
        return max(0.0, min(self.retry_base_seconds * 2**attempt * (1 - 0.25 * random.random()), self.retry_max_seconds))

    def _body(self, params: dict[str, Any], system: str, tools: list[ToolSpec], *, stream: bool) -> bytes | None:
        """The encoded body for the first-party client; None for a client that gets `messages.create`."""
        if self.body_encoder is None or self.extra_body:
            return None
        sdk_warnings(params, stacklevel=4)
        return self.body_encoder.encode(params, system=system, tools=tools, stream=stream)

    async def _message(self, params: dict[str, Any], body: bytes | None) -> ModelResponse:
        if body is None:
            raw = await self.client.messages.create(**params)
            return parse_message(raw.to_dict(warnings=False), request_id=raw._request_id)
        response = await self.client.post(MESSAGES_PATH, cast_to=httpx2.Response, content=body, options=_options(params))
        return parse_message(response.json(), request_id=response.headers.get("request-id"))

    async def _stream(self, params: dict[str, Any], body: bytes | None, on_text: TextCallback, streamed: _Streamed) -> ModelResponse:
        if body is None:
            stream = await self.client.messages.create(**params, stream=True)
        else:
            stream = await self.client.post(
                MESSAGES_PATH, cast_to=APIMessage, content=body, options=_options(params), stream=True, stream_cls=AsyncStream[RawMessageStreamEvent]
            )
        builder = StreamBuilder()
        try:
            async with aclosing(_events(stream) if self._sse else _decoded_events(stream)) as events:
                async for event in events:
                    delta = builder.feed(event)
                    if delta:
                        streamed.emitted = True
                        await on_text(delta)
        finally:
            await stream.close()
        headers = stream.response.headers
        return builder.result(request_id=headers.get("request-id") or headers.get("x-amzn-requestid"))

    @property
    def credentials(self) -> str:
        """The setting that holds this client's credential, for messages that say what to fix."""
        if isinstance(self.client, AsyncAnthropicBedrock):
            return "the AWS credentials of the Bedrock client"
        if isinstance(self.client, AsyncAnthropicVertex):
            return "the Google credentials of the Vertex client"
        return "ANTHROPIC_API_KEY"

    async def check(self, model: str | None = None) -> str:
        """Ask the API about `model` (default the configured one) without spending tokens; its display name.
        Raises what `complete` would for the same setup: a refused key, an unknown model, an unreachable API."""
        name = model or self.model
        try:
            info = await self.client.models.retrieve(name)  # type: ignore[union-attr]
        except anthropic.APIStatusError as exc:
            raise classify(exc, model=name, credentials=self.credentials) from None
        except anthropic.APIConnectionError as exc:
            raise ModelUnavailable(f"model API unreachable: {type(exc).__name__}") from None
        return str(info.display_name or info.id)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.close()


class _Streamed:
    """Whether any text reached the caller during this attempt."""

    emitted = False


def _options(params: dict[str, Any]) -> RequestOptions:
    """The request options of `params` (`client.post` takes headers there, `messages.create` as `extra_headers`)."""
    headers = params.get("extra_headers")
    return {"headers": headers} if headers else {}


async def _events(stream: AsyncStream[Any]) -> AsyncGenerator[dict[str, Any]]:
    """The stream's events as the API sent them (JSON objects), skipping pings; an `error` event raises what the
    SDK's own iteration raises (`APIStatusError` with the event's body, on the stream's 200 response)."""
    response = stream.response
    async for sse in AsyncStream.raw_events(response):
        kind = sse.event
        if kind is None or kind == "ping":
            continue
        if kind == "error":
            raise _stream_error(sse.data, response)
        if sse.data:
            yield sse.json()


async def _decoded_events(stream: AsyncStream[Any]) -> AsyncGenerator[dict[str, Any]]:
    """Bedrock's events, decoded by the SDK from AWS event-stream frames, as dicts."""
    async for event in stream:
        yield event.to_dict(warnings=False)


def _stream_error(data: str, response: httpx2.Response) -> anthropic.APIStatusError:
    body: Any = data
    try:
        body = json.loads(data)
        message = f"{body}"
    except ValueError:
        message = data or f"Error code: {response.status_code}"
    return anthropic.APIStatusError(message, response=response, body=body)


# ---------------------------------------------------------------- errors


def _context_exceeded(exc: anthropic.APIStatusError) -> ModelResponse:
    log_event(logger, "prompt too long", logging.WARNING, request_id=exc.request_id)
    return ModelResponse(
        message=Message(role="assistant", content=[]), stop_reason="context_exceeded", request_id=exc.request_id
    )


def _credentials_error(exc: Exception) -> bool:
    """Bedrock's SigV4 signing (boto3/botocore) or Vertex's Google auth failed before the request was sent."""
    module = type(exc).__module__
    if module.startswith(("google.auth", "botocore", "boto3")):
        return True
    return isinstance(exc, RuntimeError | ValueError) and "credentials" in str(exc).lower()
