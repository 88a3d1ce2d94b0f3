"""OpenTelemetry traces: one span per turn, per model call and per tool call, sent over OTLP/HTTP when configured.

Off by default: without `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) the wiring gives
`Tracing(None)`, whose tracer is OpenTelemetry's no-op tracer: no exporter, no background thread, no span objects
kept. With an endpoint, `bot.wiring` builds one `TracerProvider` (a batch processor and the OTLP/HTTP exporter)
and `Deps.aclose()` flushes and shuts it down.

Spans (names and attributes follow the OpenTelemetry GenAI semantic conventions where they define one):

- `chatops.turn` (INTERNAL): `gen_ai.conversation.id`, `chatops.turn.id`, `chatops.user.hash` (a hash, never the
  Slack id), and at its end `chatops.turn.outcome`, `chatops.turn.steps`, `chatops.turn.tool_calls`,
  `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` (+ the cache read/creation token counts).
- `chat {model}` (CLIENT, child of the turn): `gen_ai.operation.name=chat`, `gen_ai.provider.name` (and the older
  `gen_ai.system`), `gen_ai.request.model`, `gen_ai.request.max_tokens`, `gen_ai.response.model`,
  `gen_ai.response.id`, `gen_ai.response.finish_reasons`, the usage tokens; `error.type` when it failed.
- `execute_tool {tool}` (INTERNAL, child of the turn): `gen_ai.operation.name=execute_tool`, `gen_ai.tool.name`,
  `gen_ai.tool.call.id`, `gen_ai.tool.type`, `chatops.tool.outcome` (ok, error, denied, pending, cancelled, ...),
  `chatops.tool.decision` (allow, deny, confirm) and `chatops.tool.rule`.

Never recorded unless `CHATOPS_TRACE_CONTENT=true`: prompts, answers, tool arguments and results. With it, they go
in `gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.tool.call.arguments` and `gen_ai.tool.call.result`,
capped at `CONTENT_LIMIT` characters and passed through the same secret masking as everything posted to Slack
(the `mask` given by the wiring).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from integrations.llm.base import Message, ModelResponse, TextBlock, ToolCall, ToolResult, Usage

if TYPE_CHECKING:  # the SDK is imported by the wiring, and only when an endpoint is set
    from opentelemetry.sdk.trace import TracerProvider

INSTRUMENTATION = "chatops"
CONTENT_LIMIT = 8_000
"""The most characters of one content attribute (prompts, answers, tool arguments or results)."""
PROVIDER_NAMES = {"anthropic": "anthropic", "bedrock": "aws.bedrock", "vertex": "gcp.vertex_ai", "openai": "openai"}
"""`CHATOPS_PROVIDER` -> the semantic conventions' `gen_ai.provider.name` value."""


def _identity(text: str) -> str:
    return text


class Tracing:
    """The process's tracer (a no-op one without a provider) and one method per span the bot records."""

    def __init__(
        self, provider: TracerProvider | None = None, *, content: bool = False, mask: Callable[[str], str] = _identity
    ) -> None:
        self.provider = provider
        self.content = content and provider is not None
        """Whether prompts, answers and tool arguments/results may be attached (CHATOPS_TRACE_CONTENT)."""
        self._mask = mask
        self.tracer: trace.Tracer = provider.get_tracer(INSTRUMENTATION) if provider is not None else trace.NoOpTracer()

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded and exported."""
        return self.provider is not None

    # ---------------------------------------------------------------- spans

    @contextmanager
    def turn(self, *, conversation_id: str, turn_id: str, user_hash: str) -> Iterator[Span]:
        """The span of one turn (or the continuation of one after an approval); current while it runs."""
        if self.provider is None:  # off: not even the no-op tracer's context switch
            yield trace.INVALID_SPAN
            return
        attributes = {"gen_ai.conversation.id": conversation_id, "chatops.turn.id": turn_id, "chatops.user.hash": user_hash}
        with self.tracer.start_as_current_span("chatops.turn", kind=SpanKind.INTERNAL, attributes=attributes) as span:
            yield span

    def turn_ended(self, span: Span, *, outcome: str, steps: int, tool_calls: int, usage: Usage) -> None:
        """What the turn came to: its outcome, steps, tool calls and tokens (never its text)."""
        if not span.is_recording():
            return
        span.set_attributes(
            {"chatops.turn.outcome": outcome, "chatops.turn.steps": steps, "chatops.turn.tool_calls": tool_calls, **_usage(usage)}
        )
        if outcome == "failed":
            span.set_status(Status(StatusCode.ERROR, "turn failed"))

    @contextmanager
    def model_call(self, *, provider: str, model: str, max_tokens: int, messages: list[Message]) -> Iterator[Span]:
        """The span of one model request; an exception escaping it is recorded as `error.type`."""
        if self.provider is None:
            yield trace.INVALID_SPAN
            return
        name = PROVIDER_NAMES.get(provider, provider)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": name,
            "gen_ai.system": name,
            "gen_ai.request.model": model,
            "gen_ai.request.max_tokens": max_tokens,
        }
        with self.tracer.start_as_current_span(
            f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            if self.content and span.is_recording():
                span.set_attribute("gen_ai.input.messages", self._text(_messages_json(messages)))
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    def model_answered(self, span: Span, response: ModelResponse) -> None:
        """The response's model, id, finish reason and tokens (and, with content on, its message)."""
        if not span.is_recording():
            return
        attributes: dict[str, Any] = {"gen_ai.response.finish_reasons": [str(response.stop_reason)], **_usage(response.usage)}
        if response.model:
            attributes["gen_ai.response.model"] = response.model
        if response.request_id:
            attributes["gen_ai.response.id"] = response.request_id
        if self.content:
            attributes["gen_ai.output.messages"] = self._text(_messages_json([response.message]))
        span.set_attributes(attributes)

    @contextmanager
    def tool_call(self, *, tool: str, call_id: str, tool_type: str = "function") -> Iterator[Span]:
        """The span of one tool run; current while the tool runs."""
        if self.provider is None:
            yield trace.INVALID_SPAN
            return
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool, "gen_ai.tool.call.id": call_id, "gen_ai.tool.type": tool_type}
        with self.tracer.start_as_current_span(f"execute_tool {tool}", kind=SpanKind.INTERNAL, attributes=attributes) as span:
            yield span

    def tool_ended(
        self,
        span: Span | None,
        *,
        tool: str,
        call_id: str,
        outcome: str,
        decision: str,
        rule: str,
        arguments: dict[str, Any],
        result: str,
        ms: float,
    ) -> None:
        """How a tool call ended, on `span` (the running call's), or on a new span for a call that never ran
        (invalid, denied, waiting for approval, declined): backdated by `ms`, ended at once."""
        if not self.enabled:
            return
        if span is None:
            end = time.time_ns()
            with self.tracer.start_as_current_span(
                f"execute_tool {tool}",
                kind=SpanKind.INTERNAL,
                start_time=end - int(ms * 1_000_000),
                attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool, "gen_ai.tool.call.id": call_id, "gen_ai.tool.type": "function"},
                end_on_exit=False,
            ) as new:
                self.tool_ended(new, tool=tool, call_id=call_id, outcome=outcome, decision=decision, rule=rule, arguments=arguments, result=result, ms=ms)
                new.end(end_time=end)
            return
        if not span.is_recording():
            return
        attributes: dict[str, Any] = {"chatops.tool.outcome": outcome, "chatops.tool.decision": decision, "chatops.tool.rule": rule}
        if self.content:
            attributes["gen_ai.tool.call.arguments"] = self._text(json.dumps(arguments, default=str, ensure_ascii=False))
            attributes["gen_ai.tool.call.result"] = self._text(result)
        span.set_attributes(attributes)
        if outcome not in ("ok", "pending"):
            span.set_attribute("error.type", outcome)
            span.set_status(Status(StatusCode.ERROR, outcome))

    # ---------------------------------------------------------------- lifecycle

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Export every finished span now (blocking: call it from a thread in async code)."""
        return self.provider.force_flush(timeout_millis) if self.provider is not None else True

    def shutdown(self) -> None:
        """Flush and stop the exporter (blocking; once, at exit)."""
        if self.provider is not None:
            self.provider.shutdown()

    def _text(self, text: str) -> str:
        # masked before it is cut, so a cut never splits a secret the masker would have found
        return self._mask(text[: 2 * CONTENT_LIMIT])[:CONTENT_LIMIT]


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
    }


def _messages_json(messages: list[Message]) -> str:
    """Messages in the semantic conventions' shape: role + parts (text, tool_call, tool_call_response)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        parts: list[dict[str, Any]] = []
        for b in m.content:
            if isinstance(b, TextBlock):
                parts.append({"type": "text", "content": b.text})
            elif isinstance(b, ToolCall):
                parts.append({"type": "tool_call", "id": b.id, "name": b.name, "arguments": b.input})
            elif isinstance(b, ToolResult):
                parts.append({"type": "tool_call_response", "id": b.tool_call_id, "response": b.content})
        out.append({"role": m.role, "parts": parts})
    return json.dumps(out, default=str, ensure_ascii=False)
