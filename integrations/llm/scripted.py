"""`ScriptedLLM`: an in-memory `LLM` for unit tests, scripted by a queue of responses or a function.

**Usage**::

    llm = ScriptedLLM([reply_tools(call("get_ticket", key="OPS-1")), reply_text("OPS-1 is open.")])
    llm = ScriptedLLM(fn=lambda messages, tools: reply_text(f"{len(tools)} tools"))
    ...
    llm.requests[0].tools        # what was offered; .messages, .system, .tool_choice, .user_hash, .model

A queued `Exception` (e.g. `ModelUnavailable(...)`) is raised instead of answering. When streaming is asked for
(`on_text`), the response's text is delivered in `chunk_size` pieces before the call returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.llm.base import (
    Message,
    ModelResponse,
    StopReason,
    TextBlock,
    TextCallback,
    ToolCall,
    ToolChoice,
    ToolSpec,
    Usage,
)

ScriptFn = Callable[[list[Message], list[ToolSpec]], ModelResponse]

_ids = itertools.count(1)


@dataclass
class ScriptedRequest:
    """One request the fake received (messages deep-copied at call time)."""

    system: str
    messages: list[Message]
    tools: list[ToolSpec]
    tool_choice: ToolChoice | None
    max_tokens: int
    user_hash: str | None
    streamed: bool
    model: str | None = None
    """The model asked for (None: the client's default)."""


class ScriptedLLM:
    """Answers from a queue, then from `fn`; an empty script is an AssertionError naming the request."""

    def __init__(
        self, responses: list[ModelResponse | Exception] | None = None, *, fn: ScriptFn | None = None, chunk_size: int = 5
    ) -> None:
        self.queue: list[ModelResponse | Exception] = list(responses or [])
        self.fn = fn
        self.chunk_size = chunk_size
        self.requests: list[ScriptedRequest] = []
        self.closed = False

    def push(self, *responses: ModelResponse | Exception) -> None:
        """Queue more responses."""
        self.queue.extend(responses)

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
        """Record the request and answer it."""
        copied = [m.model_copy(deep=True) for m in messages]
        self.requests.append(
            ScriptedRequest(system, copied, list(tools), tool_choice, max_tokens, user_hash, on_text is not None, model)
        )
        if self.queue:
            item = self.queue.pop(0)
        elif self.fn is not None:
            item = self.fn(copied, list(tools))
        else:
            raise AssertionError(f"ScriptedLLM: no response scripted for request {len(self.requests)}")
        if isinstance(item, Exception):
            raise item
        if on_text is not None:
            text = item.message.text
            for i in range(0, len(text), self.chunk_size):
                await on_text(text[i : i + self.chunk_size])
        return item.model_copy(deep=True)

    async def aclose(self) -> None:
        """Nothing to close."""
        self.closed = True


def call(name: str, /, _id: str | None = None, **arguments: Any) -> ToolCall:
    """A tool call with a fresh id."""
    return ToolCall(id=_id or f"call_{next(_ids)}", name=name, input=arguments)


def reply_text(text: str, *, stop_reason: StopReason = "end_turn", usage: Usage | None = None) -> ModelResponse:
    """A text answer."""
    content: list[Any] = [TextBlock(text=text)] if text else []
    return ModelResponse(
        message=Message(role="assistant", content=content), stop_reason=stop_reason, usage=usage or Usage()
    )


def reply_tools(*calls: ToolCall, text: str = "", stop_reason: StopReason = "tool_use", usage: Usage | None = None) -> ModelResponse:
    """A response asking for tools."""
    content: list[Any] = [TextBlock(text=text)] if text else []
    content.extend(calls)
    return ModelResponse(
        message=Message(role="assistant", content=content), stop_reason=stop_reason, usage=usage or Usage()
    )
