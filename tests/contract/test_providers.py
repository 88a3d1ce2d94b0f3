"""Provider contract: the same scripted conversations through every provider (Anthropic API, Bedrock, Vertex,
OpenAI-compatible), each with its real SDK over HTTP to its local fake server, through the real Agent.

What must hold everywhere: tool calls and their ids map both ways, parallel calls all run and are answered in
order, streamed text reaches the caller, a response cut at the output limit never runs its calls, malformed
tool JSON gets the same validation feedback, a forced tool choice is sent in the provider's form, transient
errors are retried, and usage is recorded as reported.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.agent.loop import Agent
from bot.agent.types import ProgressEvent
from bot.settings import Settings
from bot.storage.db import Database
from bot.wiring import build_deps
from integrations.llm.base import ToolChoice
from integrations.tickets.local import LocalTickets
from tests.agent_harness import ALICE, THREAD, Recorder, ScriptedAuthorizer, build_tools
from tests.conftest import FixedClock
from tests.contract.providers import PROVIDERS, Rig, provider_rig
from tests.fakes.messages_events import Call, Turn


@pytest.fixture(params=PROVIDERS)
async def rig(request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Rig]:
    with provider_rig(request.param, settings, monkeypatch, tmp_path) as r:
        yield r
        await r.llm.aclose()


@pytest.fixture
async def agent_and_rec(rig: Rig, settings: Settings, sqlite_database: Database, clock: FixedClock) -> tuple[Agent, Recorder]:
    rec = Recorder()
    deps = await build_deps(
        rig.settings,
        db=sqlite_database,
        tickets=LocalTickets(sqlite_database, clock=clock),
        llm=rig.llm,
        tools=build_tools(rec),
        authorizer=ScriptedAuthorizer(),
        clock=clock,
        slack=None,
    )
    return deps.agent, rec


async def test_a_tool_call_runs_and_its_result_goes_back_under_the_same_id(rig: Rig, agent_and_rec: tuple[Agent, Recorder]) -> None:
    agent, rec = agent_and_rec
    rig.script(Turn([Call("get_ticket", {"key": "OPS-1"}, id="call_contract_1")], stop_reason="tool_use"), Turn(["OPS-1 is open."]))

    result = await agent.run_turn(actor=ALICE, thread=THREAD, text="What is OPS-1?")

    assert (result.status, result.text) == ("answered", "OPS-1 is open.")
    assert rec.calls == [("get_ticket", {"key": "OPS-1"})]
    assert [t.tool for t in result.trace] == ["get_ticket"]
    second = rig.bodies()[1]
    assert rig.result_ids(second) == ["call_contract_1"]
    assert "Summary of OPS-1" in rig.result_texts(second)[0]
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert rig.violations() == []


async def test_parallel_calls_streamed_in_fragments_all_run_and_are_answered_in_order(rig: Rig, agent_and_rec: tuple[Agent, Recorder]) -> None:
    agent, rec = agent_and_rec
    calls = [Call("get_ticket", {"key": f"OPS-{n}"}, id=f"call_par_{n}") for n in (1, 2, 3)]
    rig.script(Turn(["Looking up three tickets. ", *calls], stop_reason="tool_use"), Turn(["All three are open and assigned."]))
    texts: list[str] = []

    async def on_progress(event: ProgressEvent) -> None:
        if event.kind == "text":
            texts.append(event.text)

    result = await agent.run_turn(actor=ALICE, thread=THREAD, text="OPS-1, 2 and 3?", on_progress=on_progress)

    assert result.status == "answered"
    assert sorted(args["key"] for _, args in rec.calls) == ["OPS-1", "OPS-2", "OPS-3"]
    assert rig.result_ids(rig.bodies()[1]) == ["call_par_1", "call_par_2", "call_par_3"]
    assert all(b.get("stream") for b in rig.bodies()) or rig.name in ("bedrock", "vertex")
    assert "".join(texts).endswith("All three are open and assigned.") and len(texts) > 2


async def test_a_call_cut_off_at_the_output_limit_never_runs(rig: Rig, agent_and_rec: tuple[Agent, Recorder]) -> None:
    agent, rec = agent_and_rec
    rig.script(Turn([Call("add_comment", {"key": "OPS-1", "body": "half"})], stop_reason="max_tokens"), Turn(["Shorter answer."]))

    result = await agent.run_turn(actor=ALICE, thread=THREAD, text="Comment on OPS-1")

    assert result.status == "answered" and rec.calls == []
    assert rig.result_ids(rig.bodies()[1]) == []  # the truncated call was never sent back as if it had run


async def test_malformed_tool_json_gets_validation_feedback_and_the_model_can_retry(rig: Rig, agent_and_rec: tuple[Agent, Recorder]) -> None:
    agent, rec = agent_and_rec
    rig.script(
        Turn([Call("get_ticket", id="call_bad_1", raw='{"key": "OPS-1"')], stop_reason="tool_use"),
        Turn([Call("get_ticket", {"key": "OPS-1"}, id="call_good_2")], stop_reason="tool_use"),
        Turn(["OPS-1 is open."]),
    )

    async def on_progress(event: ProgressEvent) -> None:
        return None

    result = await agent.run_turn(actor=ALICE, thread=THREAD, text="What is OPS-1?", on_progress=on_progress)

    assert result.status == "answered" and rec.calls == [("get_ticket", {"key": "OPS-1"})]
    feedback = rig.result_texts(rig.bodies()[1])[0]
    assert "not valid JSON" in feedback
    assert [t.outcome for t in result.trace] == ["invalid", "ok"]


async def test_a_forced_tool_choice_is_sent_in_the_providers_form(rig: Rig, agent_and_rec: tuple[Agent, Recorder]) -> None:
    agent, _ = agent_and_rec
    rig.script(Turn([Call("search_tickets", {"text": "disk"}, id="call_forced")], stop_reason="tool_use"), Turn(["Found three."]))

    await agent.run_turn(actor=ALICE, thread=THREAD, text="disk", tool_choice=ToolChoice(type="tool", name="search_tickets"))

    first, second = rig.bodies()
    expected: Any = {"type": "function", "function": {"name": "search_tickets"}} if rig.name == "openai" else {"type": "tool", "name": "search_tickets"}
    assert first["tool_choice"] == expected
    assert "tool_choice" not in second  # only the first step is forced


async def test_a_rate_limit_is_retried_then_answered(rig: Rig, agent_and_rec: tuple[Agent, Recorder]) -> None:
    agent, _ = agent_and_rec
    rig.script("rate_limited", Turn(["Fine now."]))

    result = await agent.run_turn(actor=ALICE, thread=THREAD, text="hello")

    assert (result.status, result.text) == ("answered", "Fine now.")
    assert len(rig.bodies()) == 2


async def test_the_request_carries_the_providers_own_routing(rig: Rig, agent_and_rec: tuple[Agent, Recorder]) -> None:
    agent, _ = agent_and_rec
    rig.script(Turn(["Hi."]))

    await agent.run_turn(actor=ALICE, thread=THREAD, text="hello")

    request = rig.server.requests[-1]
    body = json.loads(request.body)
    if rig.name == "bedrock":
        assert request.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
        assert body["anthropic_version"] == "bedrock-2023-05-31" and "model" not in body
        assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLECONTRACT/")
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}  # prompt caching kept
    elif rig.name == "vertex":
        assert request.path == "/v1/projects/chatops-test/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
        assert body["anthropic_version"] == "vertex-2023-10-16"
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    elif rig.name == "openai":
        assert request.path == "/v1/chat/completions" and body["model"] == "qwen2.5-7b-instruct"
        assert body["messages"][0]["role"] == "system" and "cache_control" not in json.dumps(body)
        assert body["tools"][0]["type"] == "function" and body["parallel_tool_calls"] is True
    else:
        assert request.path == "/v1/messages" and body["model"] == "claude-sonnet-4-6"
