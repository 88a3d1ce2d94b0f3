"""The scripted provider of `chatops eval`: a local Messages API that replays each try's script, spoken to by the
real `anthropic` SDK through `AnthropicLLM`, streamed and not, exactly as a real provider is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.errors import ModelRequestError
from bot.evals.scripted import MODEL, ScriptServer, request_problem
from bot.evals.tasks import Task
from bot.settings import Settings
from integrations.llm.base import Message, TextBlock, ToolCall, ToolSpec

TOOLS = [ToolSpec(name="get_ticket", description="Read one ticket.", input_schema={"type": "object", "properties": {"key": {"type": "string"}}})]
ASK = [Message(role="user", content=[TextBlock(text="Compare OPS-1 and OPS-2")])]


def task(task_id: str = "compare") -> Task:
    return Task.model_validate({
        "id": task_id,
        "turns": [{"say": "Compare OPS-1 and OPS-2"}],
        "script": [
            {"text": "Let me look at both.", "tools": [{"get_ticket": {"key": "OPS-1"}}, {"get_ticket": {"key": "OPS-2"}}]},
            {"text": "OPS-1 is open; OPS-2 is blocked on a vendor fix that has been waiting for a week."},
        ],
    })  # fmt: skip


@pytest.fixture
async def server() -> AsyncIterator[ScriptServer]:
    s = ScriptServer()
    await s.start()
    yield s
    await s.aclose()


async def test_a_streamed_step_arrives_as_text_deltas_and_parallel_tool_calls(server: ScriptServer, settings: Settings) -> None:
    llm = server.llm(settings, task(), 0)
    deltas: list[str] = []

    async def on_text(delta: str) -> None:
        deltas.append(delta)

    response = await llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512, on_text=on_text)

    assert response.stop_reason == "tool_use" and response.model == MODEL
    assert "".join(deltas) == "Let me look at both." and len(deltas) >= 1
    calls = [b for b in response.message.content if isinstance(b, ToolCall)]
    assert [(c.name, c.input) for c in calls] == [("get_ticket", {"key": "OPS-1"}), ("get_ticket", {"key": "OPS-2"})]
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("toolu_") for c in calls)
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.request_id is not None and response.request_id.startswith("req_")


async def test_the_next_request_gets_the_next_step_unstreamed_too(server: ScriptServer, settings: Settings) -> None:
    llm = server.llm(settings, task(), 0)
    await llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512)

    answer = await llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512)

    assert answer.stop_reason == "end_turn"
    assert answer.message.text == "OPS-1 is open; OPS-2 is blocked on a vendor fix that has been waiting for a week."
    assert server.requests == 2


async def test_a_script_that_runs_out_is_a_400_naming_the_task_and_step(server: ScriptServer, settings: Settings) -> None:
    llm = server.llm(settings, task("short"), 0)
    for _ in range(2):
        await llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512)

    with pytest.raises(ModelRequestError, match=r"400 invalid_request_error: task short: the script has no response left for step 3"):
        await llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512)
    assert server.requests == 3, "a request error is never retried"


async def test_concurrent_tries_each_replay_their_own_copy(server: ScriptServer, settings: Settings) -> None:
    llms = [server.llm(settings, task(), index) for index in range(4)]

    first = await asyncio.gather(*(llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512) for llm in llms))
    second = await asyncio.gather(*(llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512) for llm in llms))

    assert {r.stop_reason for r in first} == {"tool_use"} and {r.stop_reason for r in second} == {"end_turn"}


async def test_a_request_the_real_api_would_refuse_fails_the_same_way(server: ScriptServer, settings: Settings) -> None:
    llm = server.llm(settings, task(), 0)
    first = await llm.complete(system="s", messages=ASK, tools=TOOLS, max_tokens=512)
    unanswered = [*ASK, first.message, Message(role="user", content=[TextBlock(text="and?")])]

    with pytest.raises(ModelRequestError, match=r"400 invalid_request_error: messages.1: `tool_use` ids were found without `tool_result` blocks"):
        await llm.complete(system="s", messages=unanswered, tools=TOOLS, max_tokens=512)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"messages": [{"role": "assistant", "content": "hi"}]}, 'messages: first message must use the "user" role'),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": " "}]}]}, "messages.0: text content blocks must contain non-whitespace text"),
        ({"messages": [{"role": "user", "content": "x"}], "tools": [{"name": "a"}, {"name": "a"}]}, "tools: Tool names must be unique."),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]}]},
            "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1",
        ),
        (
            {"messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "a", "input": {}}]},
                {"role": "user", "content": [{"type": "text", "text": "y"}, {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]},
            ]},
            "messages.2: tool_result blocks must come first in the content array",
        ),
        ({"messages": [{"role": "user", "content": "x"}]}, None),
    ],
)  # fmt: skip
def test_what_the_scripted_api_refuses(body: dict[str, object], problem: str | None) -> None:
    assert request_problem(body) == problem
