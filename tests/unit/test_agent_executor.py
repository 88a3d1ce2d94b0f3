"""Tool execution inside a turn: concurrency, ordering, pairing, validation feedback, caps, authorization, audit."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.settings import Settings
from bot.storage.db import Database
from tests.agent_harness import (
    Harness,
    ScriptedAuthorizer,
    make_harness,
)
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply


def results_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of a request's last message."""
    return [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]


def result_texts(server: AnthropicServer, request: int = 1) -> list[str]:
    return [b["content"] for b in results_of(server.bodies()[request])]


# ---------------------------------------------------------------- concurrency and order


async def test_independent_reads_in_one_response_run_concurrently(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, chatops_tool_timeout_seconds=5)
    h.rec.crowd, h.rec.crowd_ready = 3, asyncio.Event()  # each read waits until all three run at once
    server.queue(tool_use_reply([tool_use("crowd_read", {"key": f"OPS-{i}"}) for i in (1, 2, 3)]), text_reply("ok"))
    result = await h.ask()
    assert [t.outcome for t in result.trace] == ["ok", "ok", "ok"]
    assert h.rec.peak == 3


async def test_concurrent_reads_are_bounded_by_max_parallel_calls(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, chatops_max_parallel_calls=2, chatops_tool_timeout_seconds=5)
    h.rec.crowd, h.rec.crowd_ready = 2, asyncio.Event()
    server.queue(tool_use_reply([tool_use("crowd_read", {"key": f"OPS-{i}"}) for i in (1, 2, 3)]), text_reply("ok"))
    result = await h.ask()
    assert [t.outcome for t in result.trace] == ["ok", "ok", "ok"]
    assert h.rec.peak == 2


async def test_each_write_runs_alone_in_the_order_the_model_gave(harness: Harness) -> None:
    calls = [
        tool_use("crowd_read", {"key": "OPS-1"}, id="t1"),
        tool_use("add_comment", {"key": "OPS-1", "body": "first"}, id="t2"),
        tool_use("crowd_read", {"key": "OPS-2"}, id="t3"),
        tool_use("crowd_read", {"key": "OPS-3"}, id="t4"),
        tool_use("add_comment", {"key": "OPS-1", "body": "second"}, id="t5"),
    ]
    harness.server.queue(tool_use_reply(calls), text_reply("ok"))
    await harness.ask()
    events = harness.rec.events
    assert events[:4] == ["start:OPS-1", "end:OPS-1", "write-start:first", "write-end:first"]
    assert set(events[4:8]) == {"start:OPS-2", "start:OPS-3", "end:OPS-2", "end:OPS-3"}
    assert events[8:] == ["write-start:second", "write-end:second"]
    assert [b["tool_use_id"] for b in results_of(harness.server.bodies()[1])] == ["t1", "t2", "t3", "t4", "t5"]


async def test_every_call_gets_exactly_one_result_even_when_denied_unknown_invalid_or_failed(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, authz=ScriptedAuthorizer({"add_comment": "deny"}))
    calls = [
        tool_use("get_ticket", {"key": "OPS-1"}, id="ok"),
        tool_use("no_such_tool", {}, id="unknown"),
        tool_use("get_ticket", {"key": "nope"}, id="invalid"),
        tool_use("add_comment", {"key": "OPS-1", "body": "x"}, id="denied"),
        tool_use("flaky_lookup", {"key": "OPS-1"}, id="failed"),
    ]
    server.queue(tool_use_reply(calls), text_reply("ok"))
    result = await h.ask()
    blocks = results_of(server.bodies()[1])
    assert [(b["tool_use_id"], b["is_error"]) for b in blocks] == [("ok", False), ("unknown", True), ("invalid", True), ("denied", True), ("failed", True)]
    assert server.violations == []
    assert [t.outcome for t in result.trace if t.tool_use_id != "ok"] == ["invalid", "invalid", "denied", "error"]


# ---------------------------------------------------------------- feedback for bad calls


async def test_invalid_arguments_say_field_expected_and_got_and_are_never_run(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("search_tickets", {"limit": 500, "txet": "vpn"})]), text_reply("ok"))
    await harness.ask()
    text = result_texts(harness.server)[0]
    assert text.startswith("3 validation errors in the arguments of search_tickets:")
    assert "- text: expected a value (required); got nothing (the field is missing)" in text
    assert "- limit: expected input should be less than or equal to 50; got 500" in text
    assert '- txet: expected no such field (remove it); got "vpn"' in text
    assert text.endswith("Fix the errors and try again.")
    assert harness.rec.calls == [] and harness.authz.calls == []


async def test_an_unknown_tool_is_named_with_the_tools_that_exist(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("delete_everything", {})]), text_reply("ok"))
    await harness.ask()
    text = result_texts(harness.server)[0]
    assert text.startswith("Unknown tool 'delete_everything'. The tools you may call are: add_comment, big_read,")


async def test_a_tool_not_offered_to_this_user_is_answered_like_an_unknown_tool(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, authz=ScriptedAuthorizer(hidden={"add_comment"}))
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "hi"})]), text_reply("ok"))
    await h.ask()
    assert "add_comment" not in [t["name"] for t in server.bodies()[0]["tools"]]
    assert result_texts(server)[0].startswith("Unknown tool 'add_comment'")
    assert h.rec.calls == [] and h.authz.calls == []


async def test_malformed_streamed_tool_json_is_answered_not_run(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("get_ticket", raw_json='{"key": OPS-1}')]), text_reply("ok"))
    result = await harness.ask()  # the harness streams (it passes on_progress)
    text = result_texts(harness.server)[0]
    assert "could not be read: the tool input was not valid JSON" in text and "Fix the errors" in text
    assert harness.rec.calls == [] and result.status == "answered"


async def test_tool_errors_go_back_to_the_model_as_error_results(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-404"})]), text_reply("It does not exist."))
    result = await harness.ask()
    block = results_of(harness.server.bodies()[1])[0]
    assert (block["content"], block["is_error"]) == ("No ticket 'OPS-404'.", True)
    assert result.trace[0].outcome == "error"


async def test_a_tool_that_hangs_times_out_with_a_clear_result(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, chatops_tool_timeout_seconds=0.05)
    server.queue(tool_use_reply([tool_use("slow_lookup", {"key": "OPS-1"})]), text_reply("It timed out."))
    result = await h.ask()
    assert result_texts(server)[0] == "slow_lookup did not answer within 0.05 seconds and was stopped."
    assert result.trace[0].outcome == "timeout"


# ---------------------------------------------------------------- caps


async def test_a_tool_failing_three_times_is_withdrawn_for_the_rest_of_the_turn(harness: Harness) -> None:
    s = harness.server
    for i in (1, 2, 3, 4):
        s.queue(tool_use_reply([tool_use("flaky_lookup", {"key": f"OPS-{i}"})]))
    s.queue(text_reply("The lookup service is down."))
    result = await harness.ask()
    assert [name for name, _ in harness.rec.calls] == ["flaky_lookup"] * 3
    assert "is withdrawn for the rest of it" in result_texts(s, 3)[0]
    assert "flaky_lookup" not in [t["name"] for t in s.bodies()[3]["tools"]]
    assert "flaky_lookup" in [t["name"] for t in s.bodies()[2]["tools"]]
    assert result_texts(s, 4)[0].startswith("Not run: flaky_lookup was withdrawn")
    assert result.status == "answered"


async def test_calls_beyond_the_per_response_cap_are_answered_not_run(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, chatops_max_calls_per_response=2)
    server.queue(tool_use_reply([tool_use("get_ticket", {"key": f"OPS-{i}"}) for i in (1, 2, 3)]), text_reply("ok"))
    result = await h.ask()
    assert [c[1]["key"] for c in h.rec.calls] == ["OPS-1", "OPS-2"]
    assert result_texts(server)[2].startswith("Not run: at most 2 tool calls are run per response.")
    assert [t.outcome for t in result.trace] == ["ok", "ok", "capped"]


async def test_calls_beyond_the_per_turn_cap_are_answered_not_run(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, chatops_max_tool_calls=3)
    server.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}), tool_use("get_ticket", {"key": "OPS-2"})]),
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-3"}), tool_use("get_ticket", {"key": "OPS-4"})]),
        text_reply("ok"),
    )
    await h.ask()
    assert [c[1]["key"] for c in h.rec.calls] == ["OPS-1", "OPS-2", "OPS-3"]
    assert result_texts(server, 2)[1].startswith("Not run: the limit of 3 tool calls in one turn is reached.")


async def test_an_identical_call_is_not_run_again_and_gets_the_earlier_result(harness: Harness) -> None:
    s = harness.server
    s.queue(
        tool_use_reply([tool_use("search_tickets", {"text": "vpn"})]),
        tool_use_reply([tool_use("search_tickets", {"text": "vpn", "limit": 10})]),  # the same call once validated
        text_reply("ok"),
    )
    await harness.ask()
    assert len(harness.rec.calls) == 1
    again = result_texts(s, 2)[0]
    assert again.startswith("Not run again: this exact call (search_tickets with the same arguments) was already made")
    assert result_texts(s, 1)[0] in again


async def test_the_trace_of_a_repeated_call_points_at_the_earlier_one_without_the_models_wrapper(harness: Harness) -> None:
    harness.server.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="first")]),
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="again")]),
        text_reply("ok"),
    )
    result = await harness.ask()
    repeat = result.trace[1]
    assert (repeat.tool_use_id, repeat.outcome) == ("again", "capped")
    assert repeat.summary == "Not run again: this exact call (get_ticket with the same arguments) was already made in this turn."
    assert '<tool_output tool="get_ticket"' in result_texts(harness.server, 2)[0]  # the model still gets the result


async def test_a_duplicate_inside_one_response_runs_once(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="a"), tool_use("get_ticket", {"key": "OPS-1"}, id="b")]), text_reply("ok"))
    await harness.ask()
    assert len(harness.rec.calls) == 1
    assert result_texts(harness.server)[1] == "Not run: it repeats call a of this same response, which was run once."


# ---------------------------------------------------------------- authorization, audit, trace


async def test_authorize_is_called_once_per_validated_call_before_it_runs(harness: Harness) -> None:
    harness.server.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}), tool_use("get_ticket", {"key": "bad"}), tool_use("add_comment", {"key": "OPS-2", "body": "hi"})]),
        text_reply("ok"),
    )
    await harness.ask()
    assert harness.authz.calls == [
        ("get_ticket", {"key": "OPS-1"}, "U0ALICE"),
        ("add_comment", {"key": "OPS-2", "body": "hi"}, "U0ALICE"),
    ]


async def test_a_denied_call_is_never_executed_and_is_audited(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, authz=ScriptedAuthorizer({"add_comment": "deny"}))
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-7", "body": "hi"})]), text_reply("Not allowed."))
    result = await h.ask()
    assert h.rec.calls == []
    text = result_texts(server)[0]
    assert text.startswith("Not permitted: Alice Example may not run add_comment") and "test says deny" not in text
    (row,) = await h.store.list_audit(action="denied")
    assert (row.user_id, row.tool, row.target, row.status) == ("U0ALICE", "add_comment", "OPS-7", "denied")
    assert row.details is not None and row.details["rule"] == "test-rule"
    (call,) = await h.store.list_tool_calls(turn_id=result.turn_id)
    assert (call.decision, call.outcome) == ("deny", "denied")


async def test_a_write_claims_its_idempotency_key_and_is_audited(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-3", "body": "Deployed"}, id="toolu_w")]), text_reply("Done."))
    result = await harness.ask()
    key = f"{result.turn_id}:toolu_w"
    row = await harness.store.audit_for_key(key)
    assert row is not None
    assert (row.action, row.tool, row.target, row.status, row.user_id) == ("write", "add_comment", "OPS-3", "done", "U0ALICE")
    again = await harness.store.claim_write(key=key, user_id="U0ALICE", tool="add_comment", target="OPS-3", conversation_id=None, tool_use_id="toolu_w")
    assert again is False


async def test_one_tool_call_row_per_call_with_decision_outcome_and_redacted_arguments(harness: Harness) -> None:
    harness.server.queue(
        tool_use_reply([tool_use("login", {"user": "bob", "password": "hunter2"}), tool_use("get_ticket", {"key": "OPS-404"})]),
        text_reply("ok"),
    )
    result = await harness.ask()
    rows = await harness.store.list_tool_calls(turn_id=result.turn_id)
    assert [(r.tool, r.decision, r.outcome) for r in rows] == [("login", "allow", "ok"), ("get_ticket", "allow", "error")]
    assert rows[0].arguments == {"user": "bob", "password": "[redacted]"}
    assert rows[0].result and rows[0].error is None
    assert rows[1].error == "No ticket 'OPS-404'." and rows[1].result is None
    assert all(r.user_id == "U0ALICE" and r.conversation_id == result.conversation_id for r in rows)
    assert result.trace[0].arguments["password"] == "[redacted]"
    assert "hunter2" not in str(result.trace)


async def test_tools_get_the_actor_and_visible_projects_in_their_context(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="toolu_ctx")]), text_reply("ok"))
    result = await harness.ask()
    (ctx,) = harness.rec.contexts
    assert ctx.actor.user_id == "U0ALICE" and ctx.visible_projects == frozenset({"OPS"})
    assert (ctx.conversation_id, ctx.call_id, ctx.thread_ts) == (result.conversation_id, "toolu_ctx", "1700000000.000100")
