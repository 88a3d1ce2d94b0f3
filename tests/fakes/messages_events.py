"""Messages API responses for the cloud fakes (Bedrock, Vertex): a scripted `Turn` → the message JSON and the
stream events the real API sends for it, thinking included.

Shapes follow the recordings in `../shared/corpus/anthropic/` (see its README): a thinking block starts as
`{"type":"thinking","thinking":"","signature":""}`, its text arrives in `thinking_delta`s and its signature in one
`signature_delta` just before `content_block_stop`; `redacted_thinking` arrives whole in `content_block_start`; a
tool_use starts with `"input":{}` and a first empty `input_json_delta`; `message_delta.usage` repeats the input
counters; `stop_details` is null.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Think:
    """A signed thinking block."""

    thinking: str
    signature: str


@dataclass
class Redacted:
    """A redacted_thinking block (opaque data)."""

    data: str


@dataclass
class Call:
    """A tool_use block; `raw` streams that literal (possibly malformed) JSON instead of the input."""

    name: str
    input: Any = field(default_factory=dict)
    id: str | None = None
    raw: str | None = None


@dataclass
class Turn:
    """One scripted model response."""

    blocks: list[str | Think | Redacted | Call]
    stop_reason: str = "end_turn"
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 120, "output_tokens": 30})
    chunk: int = 7


_ids = itertools.count(1)


def message_json(turn: Turn, model: str) -> dict[str, Any]:
    """The non-streaming message body."""
    content: list[dict[str, Any]] = []
    for block in turn.blocks:
        if isinstance(block, str):
            content.append({"type": "text", "text": block})
        elif isinstance(block, Think):
            content.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature})
        elif isinstance(block, Redacted):
            content.append({"type": "redacted_thinking", "data": block.data})
        else:
            block.id = block.id or f"toolu_bdrk_{next(_ids):020d}"
            content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input, "caller": {"type": "direct"}})
    usage = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, **turn.usage}
    return {
        "id": f"msg_bdrk_{next(_ids):020d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": turn.stop_reason,
        "stop_sequence": None,
        "stop_details": None,
        "usage": usage,
    }


def stream_events(turn: Turn, model: str) -> list[dict[str, Any]]:
    """The stream's events, in order (each a dict with its `type`)."""
    message = message_json(turn, model)
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, (block, source) in enumerate(zip(message["content"], turn.blocks, strict=True)):
        opening, deltas = _opening(block, source, turn.chunk)
        events.append({"type": "content_block_start", "index": index, "content_block": opening})
        events.extend({"type": "content_block_delta", "index": index, "delta": d} for d in deltas)
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None, "stop_details": None},
            "usage": dict(usage),
        }
    )
    events.append({"type": "message_stop"})
    return events


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _opening(block: dict[str, Any], source: Any, size: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in _pieces(block["text"], size)]
    if kind == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"], size)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
        return {"type": "thinking", "thinking": "", "signature": ""}, deltas
    if kind == "redacted_thinking":
        return dict(block), []
    raw = source.raw if source.raw is not None else json.dumps(block["input"])
    opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}, "caller": {"type": "direct"}}
    return opening, [{"type": "input_json_delta", "partial_json": p} for p in ["", *_pieces(raw, size)]]


def sse(events: list[dict[str, Any]]) -> bytes:
    """Events as the first-party / Vertex SSE body."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in events)
