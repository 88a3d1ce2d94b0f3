"""ScriptedLLM, the in-memory LLM fake: answers from a queue then a function, records requests, streams text."""

from __future__ import annotations

import pytest

from bot.errors import ModelUnavailable
from integrations.llm.base import Message, TextBlock, ToolChoice, ToolSpec
from integrations.llm.scripted import ScriptedLLM, call, reply_text, reply_tools

QUESTION = [Message(role="user", content=[TextBlock(text="hi")])]
SPEC = ToolSpec(name="get_ticket", description="One ticket.", input_schema={"type": "object"})


async def test_answers_from_the_queue_then_the_function_and_records_each_request() -> None:
    llm = ScriptedLLM([reply_tools(call("get_ticket", key="OPS-1"))], fn=lambda messages, tools: reply_text(f"{len(messages)} messages"))
    first = await llm.complete(system="s", messages=QUESTION, tools=[SPEC], tool_choice=ToolChoice(type="any"), max_tokens=10, user_hash="h")
    second = await llm.complete(system="s", messages=QUESTION * 3, tools=[], max_tokens=10)
    assert first.message.tool_calls[0].input == {"key": "OPS-1"} and first.stop_reason == "tool_use"
    assert second.message.text == "3 messages"
    assert [len(r.messages) for r in llm.requests] == [1, 3]
    assert llm.requests[0].tools == [SPEC] and llm.requests[0].tool_choice == ToolChoice(type="any")
    assert llm.requests[0].user_hash == "h"


async def test_records_the_model_each_request_asked_for() -> None:
    llm = ScriptedLLM([reply_text("a"), reply_text("b")])
    await llm.complete(system="s", messages=QUESTION, tools=[], max_tokens=10, model="claude-haiku-4-5")
    await llm.complete(system="s", messages=QUESTION, tools=[], max_tokens=10)
    assert [r.model for r in llm.requests] == ["claude-haiku-4-5", None]


async def test_a_queued_error_is_raised_and_an_empty_script_fails_loudly() -> None:
    llm = ScriptedLLM([ModelUnavailable("down")])
    with pytest.raises(ModelUnavailable):
        await llm.complete(system="s", messages=QUESTION, tools=[], max_tokens=10)
    with pytest.raises(AssertionError, match="no response scripted for request 2"):
        await llm.complete(system="s", messages=QUESTION, tools=[], max_tokens=10)


async def test_streaming_delivers_the_text_in_pieces() -> None:
    llm = ScriptedLLM([reply_text("Hello there, world")], chunk_size=5)
    pieces: list[str] = []

    async def on_text(delta: str) -> None:
        pieces.append(delta)

    response = await llm.complete(system="s", messages=QUESTION, tools=[], max_tokens=10, on_text=on_text)
    assert pieces == ["Hello", " ther", "e, wo", "rld"] and response.message.text == "".join(pieces)
    assert llm.requests[0].streamed is True
