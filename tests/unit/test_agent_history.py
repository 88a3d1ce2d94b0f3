"""Thread history: every tool call keeps exactly one result, roles alternate, long threads fit the budget."""

from __future__ import annotations

from bot.agent import history as hist
from bot.settings import Settings
from bot.storage.db import Database
from integrations.llm.base import Message, TextBlock, ToolCall, ToolResult
from tests.agent_harness import make_harness
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply


def user(text: str) -> Message:
    return Message(role="user", content=[TextBlock(text=text)])


def asks(*ids: str) -> Message:
    return Message(role="assistant", content=[ToolCall(id=i, name="get_ticket", input={"key": "OPS-1"}) for i in ids])


def answers(*pairs: tuple[str, str]) -> Message:
    return Message(role="user", content=[ToolResult(tool_call_id=i, content=c) for i, c in pairs])


def said(text: str) -> Message:
    return Message(role="assistant", content=[TextBlock(text=text)])


def pairs_ok(messages: list[Message]) -> bool:
    """Each assistant's tool calls are answered, exactly, by the next message."""
    for i, m in enumerate(messages):
        ids = [c.id for c in m.tool_calls] if m.role == "assistant" else []
        if ids:
            nxt = messages[i + 1] if i + 1 < len(messages) else None
            if nxt is None or [b.tool_call_id for b in nxt.content if isinstance(b, ToolResult)] != ids:
                return False
    return True


def test_a_call_left_without_result_gets_one_saying_so() -> None:
    repaired = hist.repair([user("q1"), asks("a"), user("q2")])
    assert pairs_ok(repaired)
    results = [b for b in repaired[2].content if isinstance(b, ToolResult)]
    assert results[0].tool_call_id == "a" and results[0].is_error and "No result was recorded" in results[0].content
    assert repaired[2].content[-1] == TextBlock(text="q2")  # results first, then the new question


def test_results_for_calls_that_are_not_there_are_dropped() -> None:
    repaired = hist.repair([user("q1"), said("hi"), answers(("ghost", "late result")), user("q2")])
    assert all(not isinstance(b, ToolResult) for m in repaired for b in m.content)
    assert [m.role for m in repaired] == ["user", "assistant", "user"]


def test_history_starts_with_a_user_message_and_roles_alternate() -> None:
    repaired = hist.repair([said("orphan"), user("a"), user("b"), said("x"), said("y")])
    assert [m.role for m in repaired] == ["user", "assistant"]
    assert [b.text for b in repaired[0].content if isinstance(b, TextBlock)] == ["a", "b"]


def test_trimming_shortens_the_oldest_results_first_and_keeps_every_pair() -> None:
    big = "r" * 5000
    messages = [user("q1"), asks("a", "b"), answers(("a", big), ("b", big)), said("done"), user("q2"), asks("c"), answers(("c", big)), said("ok")]
    trimmed = hist.trim(messages, budget=14_000)
    assert hist.size(trimmed) <= 14_000 * hist.TRIM_TARGET  # well below: the next turns need no trimming
    assert pairs_ok(trimmed) and len(trimmed) == len(messages)
    old = [b for b in trimmed[2].content if isinstance(b, ToolResult)]
    assert all("old result trimmed from history: 5000 characters" in b.content for b in old)
    newest = [b for b in trimmed[6].content if isinstance(b, ToolResult)]
    assert newest[0].content == big  # not needed, so not shortened


def test_a_thread_under_budget_is_left_exactly_as_it_was() -> None:
    messages = [user("q1"), asks("a"), answers(("a", "r" * 100)), said("done")]
    assert hist.trim(messages, budget=10_000) == messages


def test_trimming_drops_whole_old_exchanges_when_shortening_is_not_enough() -> None:
    messages = [user("old " * 500), said("old answer " * 300), user("q2"), said("a2"), user("q3"), said("a3")]
    trimmed = hist.trim(messages, budget=300)
    assert trimmed[0] == user("q2") and hist.size(trimmed) <= 300
    assert pairs_ok(trimmed)


async def test_a_long_thread_stays_within_the_history_budget(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, chatops_history_chars=3000)
    for i in range(1, 6):
        server.queue(tool_use_reply([tool_use("big_read", {"key": f"OPS-{i}"})]), text_reply(f"Answer {i}"))
        await h.ask(f"Question {i}")
    last_turn = server.bodies()[-2]["messages"]  # the 5th turn's first request: history + the new question
    history_part = last_turn[:-1]
    assert sum(len(str(b.get("text", b.get("content", "")))) for m in history_part for b in m["content"]) < 3000 + 500
    assert server.violations == []  # every tool_use still has its tool_result
    assert "Answer 4" in str(history_part)
