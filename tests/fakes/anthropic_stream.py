"""Streaming for the fake Messages API (mixed into `AnthropicServer`): a message as SSE events in the order and
shape the API sends them (message_start, content blocks with their deltas and a ping, message_delta,
message_stop), held at a gate, broken by an error event, or cut short (`Reply.stream_error`, `gate`, `cut_after`)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.anthropic_wire import error_body, sse

if TYPE_CHECKING:
    from tests.fakes.anthropic_server import Reply


class StreamMixin:
    """Provides `_stream`; uses the server's `_ok_headers` and `_request_id`."""

    if TYPE_CHECKING:  # provided by AnthropicServer

        def _ok_headers(self) -> dict[str, str]: ...

        def _request_id(self) -> str: ...

    async def _stream(self, request: web.Request, message: dict[str, Any], reply: Reply) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", **self._ok_headers()}
        )
        await response.prepare(request)
        usage = message["usage"]
        # message_start's output_tokens is an early estimate, often well above 1 (recorded: 62, 88).
        start = {**message, "content": [], "stop_reason": None, "stop_details": None, "usage": {**usage, "output_tokens": min(62, usage["output_tokens"])}}
        await response.write(sse("message_start", {"type": "message_start", "message": start}))
        if reply.cut_after == 0:
            return await self._cut(request, response, reply)
        first_delta = True
        for index, (block, part) in enumerate(zip(message["content"], reply.content, strict=True)):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                chunks = [block["text"][i : i + reply.chunk_size] for i in range(0, len(block["text"]), reply.chunk_size)]
                deltas = [{"type": "text_delta", "text": c} for c in chunks]
            else:
                assert not isinstance(part, str)
                opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}, "caller": {"type": "direct"}}
                raw = part.raw_json if part.raw_json is not None else json.dumps(block["input"])
                pieces = [""] + [raw[i : i + reply.chunk_size] for i in range(0, len(raw), reply.chunk_size)]
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
            await response.write(
                sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})
            )
            if index == 0:  # recorded streams ping between the first block's start and its first delta
                await response.write(sse("ping", {"type": "ping"}))
            for delta in deltas:
                await response.write(
                    sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                )
                if first_delta and reply.gate is not None:
                    first_delta = False
                    gate = reply.gate
                    await asyncio.to_thread(gate.wait, 10)
            cut_in_tool = reply.stop_reason == "max_tokens" and block["type"] == "tool_use" and index == len(message["content"]) - 1
            if not cut_in_tool:  # the output limit hit inside a tool call: no content_block_stop (recorded)
                await response.write(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            if reply.stream_error is not None:
                err = reply.stream_error
                await response.write(sse("error", error_body(err.type, err.message, self._request_id())))
                await response.write_eof()
                return response
            if isinstance(reply.cut_after, int) and index + 1 >= reply.cut_after:
                return await self._cut(request, response, reply)
        delta_event = {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None, "stop_details": reply.stop_details},
            # message_delta repeats the input and cache counters, not only output_tokens (recorded).
            "usage": {
                **{k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens") if k in usage},
                "output_tokens": usage["output_tokens"],
                "output_tokens_details": {"thinking_tokens": 0},
            },
        }
        await response.write(sse("message_delta", delta_event))
        if reply.cut_after == "message_delta":
            return await self._cut(request, response, reply)
        await response.write(sse("message_stop", {"type": "message_stop"}))
        await response.write_eof()
        return response

    @staticmethod
    async def _cut(request: web.Request, response: web.StreamResponse, reply: Reply) -> web.StreamResponse:
        """End a stream early, without message_delta / message_stop (see `Reply.cut_by`)."""
        if reply.cut_by == "reset" and request.transport is not None:
            request.transport.close()
        else:
            await response.write_eof()
        return response
