"""The fake Messages API's wire rules: request validation with the API's wording, the error body, the SSE event
framing and the usage object as the API sends them today (recorded)."""

from __future__ import annotations

import itertools
import json
import re
import threading
from typing import Any

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def error_body(type_: str, message: str, request_id: str = "req_fake") -> dict[str, Any]:
    """The API's error JSON."""
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": request_id}


def estimate_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return max(1, len(text) // 4)


_PADDING = itertools.cycle([7, 0, 3, 15, 1, 9, 2, 22, 5, 0, 11])


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event as the API sends it today: compact JSON padded with spaces inside its closing brace (a few to a
    couple of dozen, varying), except `ping`, which is `{"type": "ping"}` with a space after the colon."""
    if event == "ping":
        return b'event: ping\ndata: {"type": "ping"}\n\n'
    text = json.dumps(data, separators=(",", ":"))
    return f"event: {event}\ndata: {text[:-1]}{' ' * next(_PADDING)}}}\n\n".encode()


def usage_as_sent(usage: dict[str, Any]) -> dict[str, Any]:
    """Usage with the fields the API adds today (recorded): a `cache_creation` breakdown, the service tier."""
    return {
        **usage,
        "cache_creation": {"ephemeral_5m_input_tokens": usage.get("cache_creation_input_tokens", 0), "ephemeral_1h_input_tokens": 0},
        "service_tier": "standard",
        "inference_geo": "not_available",
    }


def request_problem(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if messages[0].get("role") != "user":
        return 'messages: first message must use the "user" role'
    return _tools_problem(body) or _messages_problem(messages) or _cache_problem(body)

def _tools_problem(body: dict[str, Any]) -> str | None:
    names = [t.get("name", "") for t in body.get("tools", [])]
    for i, name in enumerate(names):
        if not TOOL_NAME.match(name):
            return f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
    if len(set(names)) != len(names):
        return "tools: Tool names must be unique."
    choice = body.get("tool_choice")
    if choice and choice.get("type") == "tool" and choice.get("name") not in names:
        return f"tool_choice: tool {choice.get('name')!r} not found in tools"
    return None

def _messages_problem(messages: list[dict[str, Any]]) -> str | None:
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

def _cache_problem(body: dict[str, Any]) -> str | None:
    count = json.dumps(body).count('"cache_control"')
    if count > 4:
        return f"A maximum of 4 blocks with cache_control may be provided. Found {count}."
    return None


def _result_ids(blocks: list[dict[str, Any]]) -> set[str]:
    return {b.get("tool_use_id", "") for b in blocks if b.get("type") == "tool_result"}


class PromptCache:
    """The prompt-cache simulation: when `tools` or `system` carry `cache_control`, the first request with a given
    tools+system prefix reports `cache_creation_input_tokens`, later requests with a byte-identical prefix report
    `cache_read_input_tokens` (tokens estimated as characters / 4)."""

    def __init__(self, *, enabled: bool = True, min_tokens: int = 0) -> None:
        self.enabled = enabled
        self.min_tokens = min_tokens
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, body: dict[str, Any], fixed: dict[str, int] | None, content: list[dict[str, Any]]) -> dict[str, int]:
        """The usage of an answer with `content` to `body` (`fixed` when the test gave one)."""
        if fixed is not None:
            usage = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
            usage.update(fixed)
            return usage
        prefix = json.dumps([body.get("tools"), body.get("system")], separators=(",", ":"))
        prefix_tokens = estimate_tokens(prefix)
        created = read = 0
        marked = "cache_control" in prefix
        if self.enabled and marked and prefix_tokens >= self.min_tokens:
            with self._lock:
                if prefix in self._seen:
                    read = prefix_tokens
                else:
                    self._seen.add(prefix)
                    created = prefix_tokens
        rest = estimate_tokens(body.get("messages", []))
        return {
            "input_tokens": rest + (0 if (created or read) else prefix_tokens),
            "output_tokens": sum(estimate_tokens(b) for b in content) if content else 1,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
        }
