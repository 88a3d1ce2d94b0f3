"""The Messages API wire format (first-party, Bedrock and Vertex alike): our messages → request params, and a
response (JSON or a raw event stream) → `ModelResponse`.

Blocks we do not interpret (`thinking`, `redacted_thinking`, server-tool blocks) are kept as `NativeBlock`s
exactly as received and sent back unchanged, in their place: a signed thinking block that is edited, dropped
from the middle of a tool loop or reordered makes the API answer 400.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from typing import Any

from integrations.errors import ModelUnavailable
from integrations.llm.base import (
    Block,
    Message,
    ModelResponse,
    NativeBlock,
    StopReason,
    TextBlock,
    ToolCall,
    ToolChoice,
    ToolSpec,
    Usage,
)
from integrations.logs import get_logger, log_event

logger = get_logger("llm")

PROVIDER = "anthropic"
EPHEMERAL = {"type": "ephemeral"}
MIN_THINKING_BUDGET = 1024
INTERLEAVED_THINKING_BETA = "interleaved-thinking-2025-05-14"
"""Lets a Claude 4 model think between tool calls (after each tool result) with manual extended thinking."""
_CLAUDE_4 = re.compile(r"claude-(?:opus|sonnet|haiku)-4(?:-(\d{1,2}))?(?=$|[-@:._])")
MAX_OUTPUT_TOKENS = 64_000
"""The largest max_tokens sent with thinking on (the answer's room grows after a truncation; the budget stays)."""
_NO_CACHE_CONTROL = {"thinking", "redacted_thinking"}
_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "pause_turn": "pause_turn",
    "refusal": "refusal",
    "stop_sequence": "stop_sequence",
    "model_context_window_exceeded": "context_exceeded",
}


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
    thinking_budget: int = 0,
) -> dict[str, Any]:
    """The Messages API request: cache breakpoints on the last tool, the system block and the last message.

    With `thinking_budget` (≥ 1024) extended thinking is on: `max_tokens` grows by the budget (thinking counts
    toward it), and a forced tool choice becomes `auto`, since the API refuses forced tool use with manual
    thinking; the loop still only runs what the model asks for.
    """
    thinking = thinking_budget >= MIN_THINKING_BUDGET
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": min(max_tokens + thinking_budget, max(MAX_OUTPUT_TOKENS, thinking_budget + 1024)) if thinking else max_tokens,
        "system": [{"type": "text", "text": system, "cache_control": EPHEMERAL}],
        "messages": messages_param(messages),
    }
    if tools:
        specs = [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in tools]
        specs[-1]["cache_control"] = EPHEMERAL
        params["tools"] = specs
    if thinking:
        params["thinking"] = {"type": "enabled", "budget_tokens": thinking_budget}
    if tool_choice is not None and tool_choice.type != "auto" and not (thinking and tool_choice.type in ("any", "tool")):
        choice: dict[str, Any] = {"type": tool_choice.type}
        if tool_choice.type == "tool":
            choice["name"] = tool_choice.name
        params["tool_choice"] = choice
    if user_hash:
        params["metadata"] = {"user_id": user_hash}
    if thinking and tools and needs_interleaved_beta(model):
        # the SDK sends it as the `anthropic-beta` header (Bedrock's client moves it into the body's `anthropic_beta`)
        params["extra_headers"] = {"anthropic-beta": INTERLEAVED_THINKING_BETA}
    return params


def needs_interleaved_beta(model: str) -> bool:
    """True for the models on which manual extended thinking interleaves with tool calls only with the
    `interleaved-thinking-2025-05-14` beta: Claude 4 up to 4.6 (Opus 4, 4.1, 4.5, 4.6; Sonnet 4, 4.5, 4.6; Haiku
    4.5), named as the API, Bedrock (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`) or Vertex
    (`claude-sonnet-4-5@20250929`) name them. Not Claude 3.x (the API refuses the header there) and not Opus 4.7
    or later (adaptive thinking only, interleaved built in; manual thinking is refused there anyway). On the 4.6
    models interleaving is built into adaptive thinking and the header is ignored, so sending it is harmless."""
    found = _CLAUDE_4.search(model)
    return found is not None and int(found.group(1) or 0) <= 6


def messages_param(messages: list[Message]) -> list[dict[str, Any]]:
    """Our messages as Messages API messages (native blocks of this provider verbatim, others' dropped)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        blocks = [b for b in (_block_param(b) for b in message.content) if b is not None]
        if not blocks:
            # The API rejects empty messages and empty text blocks; keep the turn structure.
            blocks = [{"type": "text", "text": "(no content)"}]
        out.append({"role": message.role, "content": blocks})
    if out:
        # A moving breakpoint on the newest block caches the conversation so far across steps (thinking blocks
        # cannot carry one: the newest other block does).
        content = out[-1]["content"]
        for index in range(len(content) - 1, -1, -1):
            if content[index].get("type") not in _NO_CACHE_CONTROL:
                content[index] = {**content[index], "cache_control": EPHEMERAL}
                break
    return out


def _block_param(block: Block) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text} if block.text.strip() else None
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, NativeBlock):
        return copy.deepcopy(block.data) if block.provider == PROVIDER else None
    return {
        "type": "tool_result",
        "tool_use_id": block.tool_call_id,
        "content": block.content or "(empty)",
        "is_error": block.is_error,
    }


# ---------------------------------------------------------------- response mapping


def parse_message(data: dict[str, Any], *, request_id: str | None) -> ModelResponse:
    """Map a Messages API message (as a dict) to a ModelResponse."""
    content: list[Block] = []
    for block in data.get("content") or []:
        mapped = _content_block(block)
        if mapped is not None:
            content.append(mapped)
    reason = data.get("stop_reason")
    if reason is None:
        raise ModelUnavailable(f"model response incomplete: no stop_reason (request id {request_id})")
    details = data.get("stop_details") or {}
    return ModelResponse(
        message=Message(role="assistant", content=content),
        stop_reason=stop_reason(reason),
        usage=usage(data.get("usage") or {}),
        model=data.get("model") or "",
        request_id=request_id,
        refusal_detail=(details.get("explanation") or details.get("category")) if details else None,
    )


def _content_block(block: dict[str, Any]) -> Block | None:
    kind = block.get("type")
    if kind == "text":
        return TextBlock(text=block.get("text", ""))
    if kind == "tool_use":
        return tool_call(block["id"], block["name"], block.get("input"))
    if not isinstance(kind, str) or not kind:
        log_event(logger, "content block without a type dropped", logging.WARNING)
        return None
    # thinking, redacted_thinking, server_tool_use, *_tool_result, and any block type newer than this code
    return NativeBlock(provider=PROVIDER, data=block)


def tool_call(call_id: str, name: str, raw_input: Any) -> ToolCall:
    """A ToolCall; an input that is not a JSON object becomes `input_error` (never executed)."""
    if isinstance(raw_input, dict):
        return ToolCall(id=call_id, name=name, input=raw_input)
    got = type(raw_input).__name__
    return ToolCall(id=call_id, name=name, input={}, input_error=f"the tool input must be a JSON object, got {got}")


def stop_reason(value: str) -> StopReason:
    """The API's stop reason as ours; an unknown one is answered as text (never runs a tool)."""
    mapped = _STOP_REASONS.get(value)
    if mapped is None:
        # Answered as text; the loop runs tool calls only on `tool_use`, so an unknown reason never runs one.
        log_event(logger, "unknown stop_reason", logging.WARNING, stop_reason=value)
        return "end_turn"
    return mapped


def usage(data: dict[str, Any]) -> Usage:
    """Usage as the API reports it."""
    return Usage(
        input_tokens=data.get("input_tokens") or 0,
        output_tokens=data.get("output_tokens") or 0,
        cache_read_tokens=data.get("cache_read_input_tokens") or 0,
        cache_write_tokens=data.get("cache_creation_input_tokens") or 0,
    )


class StreamBuilder:
    """Accumulates raw stream events into a ModelResponse; malformed tool JSON becomes `input_error`.

    Thinking arrives as `thinking_delta` pieces and one `signature_delta`; `redacted_thinking` and server-tool
    results arrive whole in `content_block_start`. Only `text_delta` is returned for display.
    """

    def __init__(self) -> None:
        self.message: dict[str, Any] = {"content": [], "usage": {}}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json_parts: dict[int, list[str]] = {}
        self.stopped = False
        """`message_stop` arrived: the stream is complete."""
        self.thinking_started = False
        """A thinking block began (the caller may show a status line; the text itself is never shown)."""

    def feed(self, event: dict[str, Any]) -> str:
        """Apply one event; return a text delta to show, or ''."""
        kind = event.get("type")
        if kind == "message_start":
            start = event["message"]
            self.message.update({k: v for k, v in start.items() if k != "content"})
            self.message["usage"] = dict(start.get("usage") or {})
        elif kind == "content_block_start":
            block = dict(event["content_block"])
            self.blocks[event["index"]] = block
            self.json_parts[event["index"]] = []
            self.thinking_started = self.thinking_started or block.get("type") == "thinking"
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
        kind = delta.get("type")
        if kind == "text_delta" and block.get("type") == "text":
            block["text"] = block.get("text", "") + delta["text"]
            return str(delta["text"])
        if kind == "input_json_delta":
            self.json_parts[index].append(delta.get("partial_json", ""))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature", "")
        elif kind == "citations_delta" and isinstance(delta.get("citation"), dict):
            block.setdefault("citations", []).append(delta["citation"])
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
            raw = "".join(self.json_parts[index])
            if block.get("type") == "tool_use":
                content.append(self._streamed_call(block, raw))
                continue
            if raw.strip() and "input" in block:  # a server tool's input streams like a client tool's
                try:
                    block["input"] = json.loads(raw)
                except json.JSONDecodeError:
                    raise ModelUnavailable(f"model stream: malformed server tool input (request id {request_id})") from None
            mapped = _content_block(block)
            if mapped is not None:
                content.append(mapped)
        return response

    @staticmethod
    def _streamed_call(block: dict[str, Any], raw: str) -> ToolCall:
        if not raw.strip():
            return tool_call(block["id"], block["name"], block.get("input") or {})
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            error = f"the tool input was not valid JSON ({exc.msg} at character {exc.pos})"
            return ToolCall(id=block["id"], name=block["name"], input={}, input_error=error)
        return tool_call(block["id"], block["name"], parsed)

