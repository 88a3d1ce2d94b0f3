"""A forced tool choice on an OpenAI-compatible server that ignores it (Ollama drops `tool_choice`): the provider
built by `build_llm` asks once more, offering only the forced tool, and the slash command's tool runs; a server
that honours it is asked once. Real parts: the `openai` SDK over HTTP to the fake Chat Completions server, the
real Agent loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.agent.loop import Agent
from bot.agent.types import ProgressEvent
from bot.settings import Settings
from bot.storage.db import Database
from bot.wiring import build_deps
from integrations.llm.base import ToolChoice
from integrations.llm.tool_choice import instruction
from integrations.tickets.local import LocalTickets
from tests.agent_harness import ALICE, THREAD, Recorder, ScriptedAuthorizer, build_tools
from tests.conftest import FixedClock
from tests.contract.providers import Rig, provider_rig
from tests.fakes.openai_server import ChatCall, ChatReply

FORCED = ToolChoice(type="tool", name="search_tickets")
PROSE = "Sure! Disk tickets are usually about storage. Let me know if you want me to search."


@pytest.fixture
async def rig(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Rig]:
    with provider_rig("openai", settings, monkeypatch, tmp_path) as r:
        yield r
        await r.llm.aclose()


@pytest.fixture
async def agent(rig: Rig, sqlite_database: Database, clock: FixedClock) -> tuple[Agent, Recorder]:
    rec = Recorder()
    deps = await build_deps(
        rig.settings, db=sqlite_database, tickets=LocalTickets(sqlite_database, clock=clock), llm=rig.llm,
        tools=build_tools(rec), authorizer=ScriptedAuthorizer(), clock=clock, slack=None,
    )  # fmt: skip
    return deps.agent, rec


class Shown:
    def __init__(self) -> None:
        self.text = ""

    async def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "text":
            self.text += event.text


async def test_an_ignored_forced_tool_is_asked_for_once_more_and_then_runs(rig: Rig, agent: tuple[Agent, Recorder]) -> None:
    bot, rec = agent
    rig.server.queue(
        ChatReply(text=PROSE, usage={"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}),  # tool_choice ignored
        ChatReply(calls=[ChatCall("search_tickets", {"text": "disk"})], usage={"prompt_tokens": 110, "completion_tokens": 10, "total_tokens": 120}),
        ChatReply(text="Found three disk tickets."),
    )
    shown = Shown()

    result = await bot.run_turn(actor=ALICE, thread=THREAD, text="disk", tool_choice=FORCED, on_progress=shown)

    first, again, answer = rig.bodies()
    assert first["tool_choice"] == again["tool_choice"] == {"type": "function", "function": {"name": "search_tickets"}}
    assert [t["function"]["name"] for t in again["tools"]] == ["search_tickets"], "only the forced tool is offered"
    assert again["messages"][0]["content"].endswith(instruction(FORCED))
    assert len(first["tools"]) > 1 and "tool_choice" not in answer
    assert [t.tool for t in result.trace] == ["search_tickets"] and result.text == "Found three disk tickets."
    assert PROSE not in shown.text + result.text, "the ignored answer is never shown"
    assert result.usage.input_tokens >= 210, "both requests are counted"


async def test_a_server_that_honours_it_is_asked_once(rig: Rig, agent: tuple[Agent, Recorder]) -> None:
    bot, _ = agent
    rig.server.queue(ChatReply(calls=[ChatCall("search_tickets", {"text": "disk"})]), ChatReply(text="Found three."))

    result = await bot.run_turn(actor=ALICE, thread=THREAD, text="disk", tool_choice=FORCED)

    assert len(rig.bodies()) == 2 and [t.tool for t in result.trace] == ["search_tickets"]


async def test_a_model_that_declines_twice_gets_its_first_answer_shown(rig: Rig, agent: tuple[Agent, Recorder]) -> None:
    bot, _ = agent
    rig.server.queue(ChatReply(text=PROSE), ChatReply(text="I would rather not."))
    shown = Shown()

    result = await bot.run_turn(actor=ALICE, thread=THREAD, text="disk", tool_choice=FORCED, on_progress=shown)

    assert len(rig.bodies()) == 2 and result.trace == []
    assert result.status == "answered" and result.text == PROSE and shown.text == PROSE


async def test_unforced_requests_stream_and_are_asked_once(rig: Rig, agent: tuple[Agent, Recorder]) -> None:
    bot, _ = agent
    rig.server.queue(ChatReply(text="Hello there, nothing to search."))
    shown = Shown()

    result = await bot.run_turn(actor=ALICE, thread=THREAD, text="hi", on_progress=shown)

    assert len(rig.bodies()) == 1 and rig.bodies()[0]["stream"] is True
    assert shown.text == result.text == "Hello there, nothing to search."
