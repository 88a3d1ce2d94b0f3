"""A thread's history as the model sees it: repaired so every tool call has exactly one result, consecutive
messages of one role merged, and trimmed to a character budget.

Provider-native blocks (signed thinking, server-tool blocks) stay exactly where they are, unchanged.
Trimming shortens old tool results first (the tool_use / tool_result pairs stay, only their content shrinks),
then long texts, then drops the oldest exchanges whole. It trims well below the budget, so the following turns
fit without trimming and the cached prefix of the conversation stays stable.
"""

from __future__ import annotations

from integrations.llm.base import Block, Message, NativeBlock, TextBlock, ToolCall, ToolResult

MISSING_RESULT = "No result was recorded for this call (the turn was interrupted or is waiting for approval)."
TRIMMED_RESULT_KEEP = 160
TRIMMED_TEXT_KEEP = 600
TRIM_TARGET = 0.7


def size(messages: list[Message]) -> int:
    """Characters of content (text, tool inputs and results) across messages."""
    return sum(_block_size(b) for m in messages for b in m.content)


def _block_size(block: Block) -> int:
    if isinstance(block, TextBlock):
        return len(block.text)
    if isinstance(block, ToolResult):
        return len(block.content)
    if isinstance(block, NativeBlock):  # kept whole (a signed thinking block cannot be shortened)
        return len(str(block.data))
    return len(block.name) + len(str(block.input))


def repair(messages: list[Message]) -> list[Message]:
    """Merge same-role neighbours, start with a user message, and give every tool call exactly one result."""
    merged = merge_roles(messages)
    while merged and merged[0].role != "user":
        merged.pop(0)
    out: list[Message] = []
    expected: list[str] = []
    for message in merged:
        if message.role == "user":
            results = {b.tool_call_id: b for b in message.content if isinstance(b, ToolResult)}
            others = [b for b in message.content if not isinstance(b, ToolResult)]
            paired: list[Block] = [
                results.get(i) or ToolResult(tool_call_id=i, content=MISSING_RESULT, is_error=True) for i in expected
            ]
            content = paired + others
            if content:
                out.append(Message(role="user", content=content))
            expected = []
        else:
            if expected:  # an assistant message right after unanswered calls: answer them first
                out.append(Message(role="user", content=[_missing(i) for i in expected]))
            out.append(message)
            expected = [b.id for b in message.content if isinstance(b, ToolCall)]
    if expected:
        out.append(Message(role="user", content=[_missing(i) for i in expected]))
    return merge_roles(out)


def _missing(call_id: str) -> ToolResult:
    return ToolResult(tool_call_id=call_id, content=MISSING_RESULT, is_error=True)


def merge_roles(messages: list[Message]) -> list[Message]:
    """Merge consecutive messages of the same role (tool results stay first in a user message)."""
    out: list[Message] = []
    for message in messages:
        if out and out[-1].role == message.role:
            content = out[-1].content + message.content
            if message.role == "user":
                content = [b for b in content if isinstance(b, ToolResult)] + [
                    b for b in content if not isinstance(b, ToolResult)
                ]
            out[-1] = Message(role=message.role, content=content)
        else:
            out.append(message)  # messages are never mutated once appended; trim() works on its own copies
    return out


def trim(messages: list[Message], budget: int, *, drop_all: bool = False) -> list[Message]:
    """Fit the messages into `budget` characters: shorten results, then texts (oldest first), then drop the
    oldest exchanges; with `drop_all` (the context-overflow retry) even the last exchange may go.

    It trims to `TRIM_TARGET` of the budget, so the next turns fit without trimming again and keep a stable
    prefix for the prompt cache.
    """
    out = [m.model_copy(deep=True) for m in messages]
    if size(out) <= budget:
        return out
    target = int(budget * TRIM_TARGET)
    for shorten in (_shorten_result, _shorten_text):
        for message in out:
            message.content = [shorten(b) for b in message.content]
            if size(out) <= target:
                return out
    while size(out) > target and (cut := _next_exchange(out)) is not None:
        out = out[cut:]
    if drop_all and size(out) > target:
        return []
    return out


def _shorten_result(block: Block) -> Block:
    if isinstance(block, ToolResult) and len(block.content) > TRIMMED_RESULT_KEEP + 60:
        note = f"... [old result trimmed from history: {len(block.content)} characters]"
        return ToolResult(tool_call_id=block.tool_call_id, content=block.content[:TRIMMED_RESULT_KEEP] + note, is_error=block.is_error)
    return block


def _shorten_text(block: Block) -> Block:
    if isinstance(block, TextBlock) and len(block.text) > TRIMMED_TEXT_KEEP + 60:
        return TextBlock(text=block.text[:TRIMMED_TEXT_KEEP] + f"... [trimmed: {len(block.text)} characters]")
    return block


def _next_exchange(messages: list[Message]) -> int | None:
    """Index of the second exchange's opening user question (no tool results), or None if there is one only."""
    for index in range(1, len(messages)):
        message = messages[index]
        if message.role == "user" and not any(isinstance(b, ToolResult) for b in message.content):
            return index
    return None


def prepare(messages: list[Message], budget: int) -> list[Message]:
    """Stored messages → what the model may see of the past."""
    return trim(repair(messages), budget)
