"""Extended thinking and server-tool blocks: kept in history exactly as received and sent back unchanged, in
place, on the following requests — within a tool loop, across an approval pause and a restart, and into the next
turn — while the thinking text never reaches the user (only the "thinking" status line does).

Real recordings from `../shared/corpus/anthropic/` are replayed when present (skipped with a reason otherwise);
`tests/fixtures/anthropic/*.sse` are ours, written in the same shape, so a plain clone covers the behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from pydantic import BaseModel

from bot.agent.loop import Agent
from bot.agent.types import ProgressEvent
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrations import migrate
from bot.tools.base import Effect, Tool, ToolArgs, ToolContext, tool
from bot.wiring import build_deps
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.llm.anthropic_wire import build_params
from integrations.llm.base import Message, NativeBlock, TextBlock, ToolChoice
from integrations.tickets.local import LocalTickets
from tests.agent_harness import ALICE, THREAD, Recorder, ScriptedAuthorizer, build_tools
from tests.conftest import FixedClock
from tests.contract.providers import provider_rig
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.messages_events import Call, Redacted, Think, Turn
from tests.fakes.recordings import ANTHROPIC, Recording

REPO = Path(__file__).resolve().parents[2]
CORPUS = ANTHROPIC
FIXTURES = REPO / "tests" / "fixtures" / "anthropic"


def corpus(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"recording {name} not available (../shared/corpus/ is absent beside this clone)")
    return path


class NoArgs(ToolArgs):
    pass


@tool(name="fixed_version", effect=Effect.READ, args=NoArgs)
async def fixed_version(ctx: ToolContext, args: BaseModel) -> str:
    """Return the fixed version."""
    return "0.32a0"


async def make_agent(settings: Settings, db: Database, clock: FixedClock, server: AnthropicServer, *, budget: int = 1024, authz: ScriptedAuthorizer | None = None) -> tuple[Agent, Recorder]:
    """A process's agent (its own recorder of tool calls) on `db`, with the model at the fake server."""
    rec = Recorder()
    s = settings.model_copy(update={"chatops_thinking_budget": budget})
    client = AsyncAnthropic(api_key="sk-ant-test-key", base_url=server.url, max_retries=0)
    deps = await build_deps(
        s,
        db=db,
        tickets=LocalTickets(db, clock=clock),
        llm=AnthropicLLM.from_config(llm_config(s), client=client),
        tools=[*build_tools(rec), fixed_version],
        authorizer=authz or ScriptedAuthorizer(),
        clock=clock,
        slack=None,
    )
    return deps.agent, rec


class Progress:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    async def __call__(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def shown(self) -> str:
        return "".join(e.text for e in self.events if e.kind == "text")


def without_cache_control(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "cache_control"}


@pytest.fixture
async def db(sqlite_database: Database) -> Database:
    await migrate(sqlite_database)
    return sqlite_database


async def test_recorded_signed_thinking_goes_back_unchanged_before_its_tool_use(settings: Settings, db: Database, clock: FixedClock) -> None:
    name = "llm-anthropic/test_fixed_version_tool_chain_with_thinking_display_regression"
    recorded_followup = json.loads(corpus(f"{name}.01.request.json").read_text())
    with AnthropicServer() as server:
        server.queue(Recording.file(corpus(f"{name}.00.response.sse")).raw(), Recording.file(corpus(f"{name}.01.response.sse")).raw())
        agent, _ = await make_agent(settings, db, clock, server)
        progress = Progress()

        result = await agent.run_turn(actor=ALICE, thread=THREAD, text="Use the fixed_version tool.", on_progress=progress)

        first, second = server.bodies()
    assert result.status == "answered" and [t.tool for t in result.trace] == ["fixed_version"]
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert first["max_tokens"] == settings.chatops_max_tokens + 1024  # thinking counts toward max_tokens
    sent = second["messages"][-2]["content"]
    expected = recorded_followup["messages"][1]["content"]
    assert sent[0] == expected[0]  # the thinking block, signature and all, byte-identical to what the client sent
    assert without_cache_control(sent[1]) == expected[1]
    thinking_text = expected[0]["thinking"]
    assert "fixed_version tool" in thinking_text and "fixed_version tool" not in progress.shown() + result.text
    assert any(e.kind == "thinking" for e in progress.events)  # the short status line


async def test_recorded_redacted_thinking_is_sent_back_in_place_on_the_next_turn(settings: Settings, db: Database, clock: FixedClock) -> None:
    recording = corpus("pydantic-ai/test_anthropic_model_thinking_part_redacted_stream.00.response.sse")
    redacted = [json.loads(line[6:])["content_block"] for line in recording.read_text().splitlines() if '"redacted_thinking"' in line]
    with AnthropicServer() as server:
        server.queue(Recording.file(recording).raw(), Recording.file(FIXTURES / "answer_after_write.sse").raw())
        agent, _ = await make_agent(settings, db, clock, server)
        await agent.run_turn(actor=ALICE, thread=THREAD, text="How do I cross the street?", on_progress=Progress())

        restarted, _ = await make_agent(settings, db, clock, server)  # history comes from the database
        await restarted.run_turn(actor=ALICE, thread=THREAD, text="And at night?", on_progress=Progress())

        second = server.bodies()[1]
    assistant = second["messages"][1]["content"]
    assert [b["type"] for b in assistant] == ["redacted_thinking", "redacted_thinking", "text"]
    assert assistant[:2] == redacted


async def test_recorded_pause_turn_is_continued_with_the_paused_content_verbatim(settings: Settings, db: Database, clock: FixedClock) -> None:
    name = "pydantic-ai/test_pause_turn_web_search_vcr"
    recorded_followup = json.loads(corpus(f"{name}.01.request.json").read_text())
    with AnthropicServer() as server:
        server.queue(Recording.file(corpus(f"{name}.00.response.json")).raw(), Recording.file(corpus(f"{name}.01.response.json")).raw())
        agent, rec = agent_rec = await make_agent(settings, db, clock, server, budget=0)
        del agent_rec

        result = await agent.run_turn(actor=ALICE, thread=THREAD, text="What is the weather in San Francisco today?")

        first, second = server.bodies()
    assert result.status == "answered" and result.steps == 2 and rec.calls == []
    continued = [without_cache_control(b) for b in second["messages"][-1]["content"]]
    assert second["messages"][-1]["role"] == "assistant"
    assert continued == recorded_followup["messages"][1]["content"]


async def test_a_paused_turn_with_server_tools_is_continued_verbatim_and_kept(settings: Settings, db: Database, clock: FixedClock) -> None:
    paused = json.loads((FIXTURES / "pause_turn_server_tool.json").read_text())
    with AnthropicServer() as server:
        server.queue(Recording.file(FIXTURES / "pause_turn_server_tool.json").raw(), Recording.file(FIXTURES / "pause_turn_resumed.json").raw())
        agent, rec = await make_agent(settings, db, clock, server, budget=1024)

        result = await agent.run_turn(actor=ALICE, thread=THREAD, text="Is the CNI release out?")

        second = server.bodies()[1]
    assert (result.status, result.steps, rec.calls) == ("answered", 2, [])
    assert result.text == "The vendor's CNI release with Kubernetes 1.31 support is out, so OPS-9 can be unblocked."
    assert second["messages"][-1]["role"] == "assistant"  # continued with no added user message
    assert [without_cache_control(b) for b in second["messages"][-1]["content"]] == paused["content"]
    assert second["tools"] == server.bodies()[0]["tools"] and second["thinking"] == server.bodies()[0]["thinking"]
    stored = await agent.deps.store.load_messages(result.conversation_id)
    kinds = [b.kind for m in stored for b in m.content if isinstance(b, NativeBlock)]
    assert kinds == ["thinking", "server_tool_use", "web_search_tool_result", "server_tool_use", "web_search_tool_result"]


async def test_thinking_survives_an_approval_pause_and_a_restart(settings: Settings, db: Database, clock: FixedClock) -> None:
    recorded = [json.loads(line[6:]) for line in (FIXTURES / "thinking_then_write.sse").read_text().splitlines() if line.startswith("data: ")]
    signature = next(e["delta"]["signature"] for e in recorded if e.get("delta", {}).get("type") == "signature_delta")
    with AnthropicServer() as server:
        server.queue(Recording.file(FIXTURES / "thinking_then_write.sse").raw(), Recording.file(FIXTURES / "answer_after_write.sse").raw())
        agent, _ = await make_agent(settings, db, clock, server, authz=ScriptedAuthorizer({"add_comment": "confirm"}))
        progress = Progress()
        paused = await agent.run_turn(actor=ALICE, thread=THREAD, text="Tell OPS-3 the runner fix is deployed", on_progress=progress)
        assert paused.status == "paused" and paused.pending is not None

        restarted, rec = await make_agent(settings, db, clock, server, authz=ScriptedAuthorizer({"add_comment": "confirm"}))
        done = await restarted.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE", on_progress=progress)

        follow_up = server.bodies()[1]
    assert done.status == "answered" and rec.calls == [("add_comment", {"key": "OPS-3", "body": "Runner fix is deployed."})]
    assistant = follow_up["messages"][-2]
    assert [b["type"] for b in assistant["content"]] == ["thinking", "redacted_thinking", "tool_use"]
    thinking = assistant["content"][0]
    assert thinking == {
        "type": "thinking",
        "thinking": "The user wants a comment on OPS-3 saying the runner fix is deployed. That is a write; I will call add_comment.",
        "signature": signature,
    }
    assert assistant["content"][1]["data"].startswith("EmwKAhgBEgy3chatops")
    assert follow_up["messages"][-1]["content"][0]["tool_use_id"] == "toolu_01ChatopsFixtureCall00001"
    assert "runner fix is deployed. That is" not in progress.shown() + paused.text + done.text
    stored = await restarted.deps.store.load_messages(done.conversation_id)
    kept = [b for m in stored for b in m.content if isinstance(b, NativeBlock)]
    assert [b.kind for b in kept] == ["thinking", "redacted_thinking"]


def test_a_forced_tool_choice_becomes_auto_when_thinking_is_on() -> None:
    messages = [Message(role="user", content=[TextBlock(text="disk")])]
    forced = ToolChoice(type="tool", name="search_tickets")

    with_thinking = build_params(model="m", system="s", messages=messages, tools=[], tool_choice=forced, max_tokens=4096, user_hash=None, thinking_budget=2048)
    without = build_params(model="m", system="s", messages=messages, tools=[], tool_choice=forced, max_tokens=4096, user_hash=None)

    assert "tool_choice" not in with_thinking and with_thinking["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert with_thinking["max_tokens"] == 4096 + 2048
    assert without["tool_choice"] == {"type": "tool", "name": "search_tickets"} and "thinking" not in without


def test_thinking_blocks_never_carry_the_cache_breakpoint() -> None:
    thinking = NativeBlock(provider="anthropic", data={"type": "thinking", "thinking": "x", "signature": "sig"})
    messages = [Message(role="user", content=[TextBlock(text="q")]), Message(role="assistant", content=[TextBlock(text="a"), thinking])]

    params = build_params(model="m", system="s", messages=messages, tools=[], tool_choice=None, max_tokens=4096, user_hash=None)

    last = params["messages"][-1]["content"]
    assert last[1] == {"type": "thinking", "thinking": "x", "signature": "sig"}
    assert last[0]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize("provider", ["bedrock", "vertex"])
async def test_cloud_providers_keep_thinking_through_their_own_framing(provider: str, settings: Settings, db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with provider_rig(provider, settings.model_copy(update={"chatops_thinking_budget": 1024}), monkeypatch, tmp_path) as rig:
        rig.script(
            Turn([Think("Check OPS-1 first.", "EpYDsig=="), Redacted("EmwKopaque=="), Call("get_ticket", {"key": "OPS-1"})], stop_reason="tool_use"),
            Turn(["OPS-1 is open."]),
        )
        tools: list[Tool] = build_tools(Recorder())
        deps = await build_deps(rig.settings, db=db, tickets=LocalTickets(db, clock=clock), llm=rig.llm, tools=tools, authorizer=ScriptedAuthorizer(), clock=clock, slack=None)
        progress = Progress()

        result = await deps.agent.run_turn(actor=ALICE, thread=THREAD, text="OPS-1?", on_progress=progress)

        second = rig.bodies()[1]
        await rig.llm.aclose()
    assert result.status == "answered"
    assistant = second["messages"][-2]["content"]
    assert assistant[:2] == [{"type": "thinking", "thinking": "Check OPS-1 first.", "signature": "EpYDsig=="}, {"type": "redacted_thinking", "data": "EmwKopaque=="}]
    assert "Check OPS-1" not in progress.shown()
