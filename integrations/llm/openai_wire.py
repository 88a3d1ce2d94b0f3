"""The Chat Completions wire format: our messages → request params, a completion (JSON or streamed chunks) →
`ModelResponse`.

Servers differ (vLLM, Ollama and llama.cpp stream tool calls in fragments or whole; some omit ids; older ones say
`stop` when they made tool calls): fragments are joined per `(choice, tool index)`, the id and name taken from the
first fragment that has them, a missing id synthesized (results must pair with calls), and the arguments parsed
only once the response is finished. A shape we cannot read (no `choices`, no `message`) is a clear
`ModelRequestError` naming what was missing, never a crash.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from integrations.errors import ModelRequestError, ModelUnavailable
from integrations.llm.base import (
    Block,
    Message,
    ModelResponse,
    NativeBlock,
    StopReason,
    TextBlock,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
    Usage,
)
from integrations.logs import get_logger, log_event

logger = get_logger("llm")

_FINISH: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


# ---------------------------------------------------------------- request mapping


def build_params(
    *, model: str, system: str, messages: list[Message], tools: list[ToolSpec], tool_choice: ToolChoice | None, max_tokens: int
) -> dict[str, Any]:
    """The Chat Completions request."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "system", "content": system}, *messages_param(messages)],
    }
    if tools:
        params["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}
            for t in tools
        ]
        params["parallel_tool_calls"] = True  # llama.cpp makes one call at a time unless asked
        choice = _tool_choice(tool_choice)
        if choice is not None:
            params["tool_choice"] = choice
    return params


def _tool_choice(choice: ToolChoice | None) -> Any:
    if choice is None or choice.type == "auto":
        return None
    if choice.type == "any":
        return "required"
    if choice.type == "none":
        return "none"
    return {"type": "function", "function": {"name": choice.name}}


def messages_param(messages: list[Message]) -> list[dict[str, Any]]:
    """Our messages as Chat Completions messages: one `tool` message per result, right after the calls."""
    out: list[dict[str, Any]] = []
    for message in messages:
        texts = [b.text for b in message.content if isinstance(b, TextBlock) and b.text.strip()]
        if message.role == "user":
            for block in message.content:
                if isinstance(block, ToolResult):
                    content = block.content or "(empty)"
                    out.append({"role": "tool", "tool_call_id": block.tool_call_id, "content": f"Error: {content}" if block.is_error else content})
            if texts:
                out.append({"role": "user", "content": "\n\n".join(texts)})
            continue
        calls = [b for b in message.content if isinstance(b, ToolCall)]
        entry: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts) or None}
        if calls:
            entry["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.input)}} for c in calls
            ]
        elif not texts:
            if all(isinstance(b, NativeBlock) for b in message.content) and message.content:
                continue  # another provider's reasoning only: nothing this server can read
            entry["content"] = "(no content)"
        out.append(entry)
    return out


# ---------------------------------------------------------------- response mapping


def parse_completion(data: dict[str, Any], *, request_id: str | None) -> ModelResponse:
    """Map a chat.completion (as a dict) to a ModelResponse."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ModelRequestError(_unknown_shape("no choices", data, request_id))
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ModelRequestError(_unknown_shape("no choices[0].message", data, request_id))
    calls = [
        _call(c.get("id"), (c.get("function") or {}).get("name"), (c.get("function") or {}).get("arguments"))
        for c in message.get("tool_calls") or []
        if isinstance(c, dict)
    ]
    return _response(message.get("content"), calls, choice.get("finish_reason"), data, request_id)


def _response(text: Any, calls: list[ToolCall], finish: Any, data: dict[str, Any], request_id: str | None) -> ModelResponse:
    if not finish:
        raise ModelUnavailable(f"model response incomplete: no finish_reason (request id {request_id})")
    reason = _FINISH.get(str(finish))
    if reason is None:
        log_event(logger, "unknown finish_reason", logging.WARNING, finish_reason=finish)
        reason = "end_turn"
    if reason == "end_turn" and calls:
        reason = "tool_use"  # some servers say `stop` after complete tool calls; `length` never runs any
    content: list[Block] = [TextBlock(text=text)] if isinstance(text, str) and text else []
    content.extend(calls)
    return ModelResponse(
        message=Message(role="assistant", content=content),
        stop_reason=reason,
        usage=_usage(data.get("usage")),
        model=str(data.get("model") or ""),
        request_id=request_id or data.get("id"),
    )


def _unknown_shape(what: str, data: dict[str, Any], request_id: str | None) -> str:
    keys = ", ".join(sorted(str(k) for k in data)[:10]) or "none"
    return f"the OpenAI-compatible server answered a shape we do not know ({what}; top-level keys: {keys}; request id {request_id})"


def _call(call_id: Any, name: Any, arguments: Any) -> ToolCall:
    call_id = call_id if isinstance(call_id, str) and call_id else f"call_{uuid.uuid4().hex[:24]}"
    name = name if isinstance(name, str) else ""
    if isinstance(arguments, dict):  # a few servers send an object instead of a JSON string
        return ToolCall(id=call_id, name=name, input=arguments)
    raw = arguments if isinstance(arguments, str) else ""
    if not raw.strip():
        return ToolCall(id=call_id, name=name, input={})
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        error = f"the tool input was not valid JSON ({exc.msg} at character {exc.pos})"
        return ToolCall(id=call_id, name=name, input={}, input_error=error)
    if not isinstance(parsed, dict):
        return ToolCall(id=call_id, name=name, input={}, input_error=f"the tool input must be a JSON object, got {type(parsed).__name__}")
    return ToolCall(id=call_id, name=name, input=parsed)


def _usage(data: Any) -> Usage:
    if not isinstance(data, dict):
        return Usage()
    details = data.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    prompt = int(data.get("prompt_tokens") or 0)
    return Usage(input_tokens=max(0, prompt - cached), output_tokens=int(data.get("completion_tokens") or 0), cache_read_tokens=cached)


class ChunkBuilder:
    """Accumulates chat.completion.chunk events (choice 0) into a ModelResponse."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.meta: dict[str, Any] = {}
        self.seen_choice = False

    def feed(self, chunk: dict[str, Any]) -> str:
        """Apply one chunk; return a text delta to show, or ''."""
        if chunk.get("usage"):
            self.meta["usage"] = chunk["usage"]
        for key in ("id", "model"):
            if chunk.get(key) and key not in self.meta:
                self.meta[key] = chunk[key]
        shown = ""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            self.seen_choice = True
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.text.append(delta["content"])
                shown += delta["content"]
            for fragment in delta.get("tool_calls") or []:
                self._fragment(fragment)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return shown

    def _fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index")
        index = index if isinstance(index, int) else len(self.calls)
        call = self.calls.setdefault(index, {"id": None, "name": None, "arguments": []})
        function = fragment.get("function") or {}
        if fragment.get("id") and not call["id"]:
            call["id"] = fragment["id"]
        if function.get("name") and not call["name"]:
            call["name"] = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call["arguments"].append(arguments)
        elif isinstance(arguments, dict):
            call["arguments"].append(json.dumps(arguments))

    def result(self, *, request_id: str | None) -> ModelResponse:
        """The finished response; `ModelUnavailable` when the stream ended without a finish_reason."""
        if not self.seen_choice and self.finish is None:
            raise ModelUnavailable(f"model stream ended early: no choices (request id {request_id})")
        calls = [_call(c["id"], c["name"], "".join(c["arguments"])) for _, c in sorted(self.calls.items())]
        return _response("".join(self.text), calls, self.finish, self.meta, request_id)
