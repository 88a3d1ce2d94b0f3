"""Writes that need confirmation: pause, resume (approve / cancel / expire), exactly once, after a restart; and the
slash-command fast path `run_tool`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import Session, col

from bot.agent.loop import Agent
from bot.agent.types import TurnResult
from bot.authz import Decision
from bot.messages import approvals as approval_text
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.tables import PendingApprovalRow
from bot.tools.base import Tool, ToolContext
from tests.agent_harness import (
    ALICE,
    THREAD,
    Harness,
    ScriptedAuthorizer,
    make_harness,
)
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply


@pytest.fixture
async def confirming(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> Harness:
    """A harness whose authorizer asks for confirmation of every add_comment."""
    return await make_harness(settings, database, server, clock, authz=ScriptedAuthorizer({"add_comment": "confirm"}))


def comment_then_answer(server: AnthropicServer) -> None:
    server.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="t_read"), tool_use("add_comment", {"key": "OPS-1", "body": "Deployed"}, id="t_write")]),
        text_reply("Commented on OPS-1."),
    )


def last_results(server: AnthropicServer) -> list[dict]:
    return [b for b in server.bodies()[-1]["messages"][-1]["content"] if b["type"] == "tool_result"]


async def test_a_write_needing_confirmation_pauses_the_turn_and_stores_the_approval(confirming: Harness) -> None:
    h = confirming
    comment_then_answer(h.server)
    result = await h.ask("Comment Deployed on OPS-1")
    assert result.status == "paused" and result.pending is not None
    assert result.pending.description == "Add a comment to OPS-1: “Deployed”"
    assert result.pending.requester_id == "U0ALICE" and result.pending.tool == "add_comment"
    assert result.text == approval_text.approval_needed(result.pending.description)
    assert [name for name, _ in h.rec.calls] == ["get_ticket"]  # the read ran; the write waits
    assert len(h.server.bodies()) == 1
    row = await h.store.get_approval(result.pending.approval_id)
    assert row is not None and row.status == "pending" and row.arguments == {"key": "OPS-1", "body": "Deployed"}
    assert (row.channel_id, row.thread_ts, row.team_id) == (THREAD.channel_id, THREAD.thread_ts, THREAD.team_id)
    stored = await h.store.load_messages(result.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"]  # the question is kept while it waits
    turn = await h.store.get_turn(result.turn_id)
    assert turn is not None and turn.status == "paused" and turn.finished_at is None


async def test_approve_runs_the_write_once_and_continues_the_same_turn(confirming: Harness) -> None:
    h = confirming
    comment_then_answer(h.server)
    paused = await h.ask("Comment Deployed on OPS-1")
    assert paused.pending is not None
    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert (result.status, result.text, result.turn_id) == ("answered", "Commented on OPS-1.", paused.turn_id)
    assert [name for name, _ in h.rec.calls] == ["get_ticket", "add_comment"]
    assert [(b["tool_use_id"], b["is_error"]) for b in last_results(h.server)] == [("t_read", False), ("t_write", False)]
    assert h.server.violations == []
    ledger = await h.store.audit_for_key(f"approval:{paused.pending.approval_id}")
    assert ledger is not None and ledger.status == "done" and ledger.tool == "add_comment"
    row = await h.store.get_approval(paused.pending.approval_id)
    assert row is not None and row.status == "done" and row.decided_by == "U0ALICE"
    rows = await h.store.list_tool_calls(turn_id=paused.turn_id)
    assert [(r.tool_use_id, r.outcome) for r in rows] == [("t_read", "ok"), ("t_write", "ok")]  # one row per call
    assert [(t.tool_use_id, t.outcome) for t in result.trace] == [("t_read", "ok"), ("t_write", "ok")]
    # the write was checked again when approved; `confirm` (still needing approval) counts as allowed then
    assert [name for name, _, _ in h.authz.calls] == ["get_ticket", "add_comment", "add_comment"]
    turn = await h.store.get_turn(paused.turn_id)
    assert turn is not None and (turn.status, turn.steps) == ("answered", 2) and turn.finished_at is not None
    stored = await h.store.load_messages(paused.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]


async def test_a_second_resume_runs_nothing_and_says_it_was_already_decided(confirming: Harness) -> None:
    h = confirming
    comment_then_answer(h.server)
    paused = await h.ask()
    assert paused.pending is not None
    await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    again = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert (again.status, again.text) == ("failed", approval_text.approval_already_decided("done"))
    assert [name for name, _ in h.rec.calls].count("add_comment") == 1
    assert len(h.server.bodies()) == 2


async def test_two_processes_clicking_approve_at_once_run_the_write_once(confirming: Harness) -> None:
    h = confirming
    comment_then_answer(h.server)
    paused = await h.ask()
    assert paused.pending is not None
    other_process = Agent(h.deps)  # its own locks: only the database claim can stop a double run
    approval = paused.pending.approval_id
    results = await asyncio.gather(
        h.agent.resume(approval_id=approval, approved=True, decided_by="U0ALICE"),
        other_process.resume(approval_id=approval, approved=True, decided_by="U0ALICE"),
    )
    assert sorted(r.status for r in results) == ["answered", "failed"]
    assert [name for name, _ in h.rec.calls].count("add_comment") == 1


async def test_resume_works_in_a_fresh_agent_after_a_restart(confirming: Harness) -> None:
    h = confirming
    comment_then_answer(h.server)
    paused = await h.ask()
    assert paused.pending is not None
    result = await h.new_agent().resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert result.status == "answered" and [n for n, _ in h.rec.calls] == ["get_ticket", "add_comment"]


async def test_cancel_tells_the_model_the_action_was_declined_and_runs_nothing(confirming: Harness) -> None:
    h = confirming
    h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"}, id="t_w")]), text_reply("OK, I did not comment."))
    paused = await h.ask()
    assert paused.pending is not None
    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=False, decided_by="U0ALICE")
    assert (result.status, result.text) == ("answered", "OK, I did not comment.")
    assert h.rec.calls == []
    (block,) = last_results(h.server)
    assert block["is_error"] is True and block["content"].startswith("Not performed: the user declined this action.")
    (audit,) = await h.store.list_audit(action="cancelled")
    assert (audit.tool, audit.target, audit.status) == ("add_comment", "OPS-1", "not_sent")
    assert result.trace[0].outcome == "cancelled"


async def test_an_expired_approval_is_never_run_and_the_model_is_told(confirming: Harness, clock: FixedClock) -> None:
    h = confirming
    h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"})]), text_reply("The request expired."))
    paused = await h.ask()
    assert paused.pending is not None
    clock.advance(61 * 60)
    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert result.status == "answered" and h.rec.calls == []
    (block,) = last_results(h.server)
    assert "the approval request expired after 60 minutes" in block["content"]
    row = await h.store.get_approval(paused.pending.approval_id)
    assert row is not None and row.status == "expired"


async def test_expire_closes_an_overdue_approval_and_finishes_the_turn(confirming: Harness, clock: FixedClock) -> None:
    h = confirming
    h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"})]), text_reply("It expired; nothing was posted."))
    paused = await h.ask()
    assert paused.pending is not None
    clock.advance(61 * 60)
    result = await h.agent.expire(approval_id=paused.pending.approval_id)
    assert result.text == "It expired; nothing was posted." and h.rec.calls == []


async def test_two_writes_needing_confirmation_pause_one_after_the_other_in_order(confirming: Harness) -> None:
    h = confirming
    h.server.queue(
        tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "one"}, id="w1"), tool_use("add_comment", {"key": "OPS-1", "body": "two"}, id="w2")]),
        text_reply("Both posted."),
    )
    first = await h.ask()
    assert first.pending is not None and "“one”" in first.pending.description
    second = await h.agent.resume(approval_id=first.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert second.status == "paused" and second.pending is not None and "“two”" in second.pending.description
    done = await h.agent.resume(approval_id=second.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert done.text == "Both posted."
    assert [a["body"] for n, a in h.rec.calls] == ["one", "two"]
    assert [b["tool_use_id"] for b in last_results(h.server)] == ["w1", "w2"]
    # each write: authorized once when the model asked, checked once more when it was approved
    assert [a["body"] for _, a, _ in h.authz.calls] == ["one", "one", "two", "two"]


# ---------------------------------------------------------------- re-authorization when approved


class BreakingAuthorizer(ScriptedAuthorizer):
    """Asks for confirmation of add_comment, then breaks on the next authorization."""

    def __init__(self) -> None:
        super().__init__({"add_comment": "confirm"})

    async def authorize(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> Decision:
        if self.calls:
            raise RuntimeError("policy store unreachable")
        return await super().authorize(ctx, tool, args)


async def test_an_approved_write_no_longer_permitted_is_not_run_and_the_model_is_told_so(confirming: Harness) -> None:
    h = confirming
    h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"}, id="t_w")]), text_reply("That is no longer allowed."))
    paused = await h.ask()
    assert paused.pending is not None
    h.authz.outcomes["add_comment"] = "deny"  # the policy changed while the request waited

    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")

    assert (result.status, result.text) == ("answered", "That is no longer allowed.")
    assert h.rec.calls == []
    assert [name for name, _, _ in h.authz.calls] == ["add_comment", "add_comment"]
    (block,) = last_results(h.server)
    assert block["is_error"] is True and "no longer permitted" in block["content"] and "declined" not in block["content"]
    assert (result.trace[0].outcome, result.trace[0].decision) == ("denied", "deny")
    (audit,) = await h.store.list_audit(action="denied")
    assert (audit.user_id, audit.tool, audit.target, audit.status) == ("U0ALICE", "add_comment", "OPS-1", "denied")
    assert audit.details is not None and audit.details["reason"] == "no longer permitted: test says deny"
    assert await h.store.audit_for_key(f"approval:{paused.pending.approval_id}") is None  # never claimed, never sent
    row = await h.store.get_approval(paused.pending.approval_id)
    assert row is not None and row.status == "failed"


async def test_an_authorizer_that_breaks_when_the_approval_comes_in_fails_closed(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock
) -> None:
    h = await make_harness(settings, database, server, clock, authz=BreakingAuthorizer())
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"})]), text_reply("Not done."))
    paused = await h.ask()
    assert paused.pending is not None

    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")

    assert result.status == "answered" and h.rec.calls == []
    assert result.trace[0].outcome == "denied"


async def test_a_decline_because_the_policy_changed_tells_the_model_the_truth(confirming: Harness) -> None:
    h = confirming
    h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"})]), text_reply("Not allowed any more."))
    paused = await h.ask()
    assert paused.pending is not None

    await h.agent.resume(approval_id=paused.pending.approval_id, approved=False, decided_by="U0ALICE", decline_reason="not_permitted")

    (block,) = last_results(h.server)
    assert "no longer permitted" in block["content"] and "declined" not in block["content"]
    assert h.rec.calls == []
    (audit,) = await h.store.list_audit(action="denied")
    assert audit.status == "denied" and audit.details is not None and audit.details["decided_by"] == "U0ALICE"


# ---------------------------------------------------------------- approvals whose paused turn cannot be read back


async def lose_saved_turn(h: Harness, approval_id: str, state: dict[str, Any] | None) -> None:
    """Overwrite the paused turn saved in the approval (lost, or written by an incompatible version)."""

    def _overwrite(session: Session) -> None:
        session.exec(update(PendingApprovalRow).where(col(PendingApprovalRow.id) == approval_id).values(state=state))

    await h.deps.db.run(_overwrite)


async def pause_a_comment(h: Harness) -> TurnResult:
    h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"}, id="t_w")]))
    paused = await h.ask()
    assert paused.pending is not None
    return paused


LOST_STATES = pytest.mark.parametrize("state", [None, {"version": 99}, {"version": 1, "turn_id": "t"}], ids=["missing", "newer", "partial"])


@LOST_STATES
async def test_approving_a_request_whose_saved_turn_is_lost_closes_it_as_failed_and_runs_nothing(
    confirming: Harness, state: dict[str, Any] | None
) -> None:
    h = confirming
    paused = await pause_a_comment(h)
    assert paused.pending is not None
    await lose_saved_turn(h, paused.pending.approval_id, state)

    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")

    assert (result.status, result.text, result.turn_id) == ("failed", approval_text.approval_state_lost("failed"), paused.turn_id)
    assert h.rec.calls == [] and len(h.server.bodies()) == 1
    row = await h.store.get_approval(paused.pending.approval_id)
    assert row is not None and (row.status, row.decided_by) == ("failed", "U0ALICE")
    turn = await h.store.get_turn(paused.turn_id)
    assert turn is not None and turn.status == "failed" and turn.finished_at is not None and "saved state" in (turn.error or "")
    rows = await h.store.list_tool_calls(turn_id=paused.turn_id)
    assert [(r.tool_use_id, r.outcome) for r in rows] == [("t_w", "cancelled")]
    (audit,) = await h.store.list_audit(action="approval")
    assert (audit.tool, audit.target, audit.status, audit.user_id) == ("add_comment", "OPS-1", "not_sent", "U0ALICE")
    again = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert (again.status, again.text) == ("failed", approval_text.approval_already_decided("failed"))


async def test_an_overdue_request_whose_saved_turn_is_lost_expires_once(confirming: Harness, clock: FixedClock) -> None:
    h = confirming
    paused = await pause_a_comment(h)
    assert paused.pending is not None
    await lose_saved_turn(h, paused.pending.approval_id, None)
    clock.advance(61 * 60)

    result = await h.agent.expire(approval_id=paused.pending.approval_id)

    assert (result.status, result.text) == ("failed", approval_text.approval_state_lost("expired"))
    row = await h.store.get_approval(paused.pending.approval_id)
    assert row is not None and row.status == "expired"
    assert await h.store.list_expired_approvals() == []  # the sweep will not find it again
    (audit,) = await h.store.list_audit(action="expired")
    assert audit.status == "not_sent"


async def test_cancelling_a_request_whose_saved_turn_is_lost_cancels_it(confirming: Harness) -> None:
    h = confirming
    paused = await pause_a_comment(h)
    assert paused.pending is not None
    await lose_saved_turn(h, paused.pending.approval_id, {"version": 99})

    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=False, decided_by="U0ALICE")

    assert (result.status, result.text) == ("failed", approval_text.approval_state_lost("cancelled"))
    row = await h.store.get_approval(paused.pending.approval_id)
    assert row is not None and row.status == "cancelled" and h.rec.calls == []


# ---------------------------------------------------------------- the slash-command fast path


async def test_run_tool_runs_one_call_without_the_model(confirming: Harness) -> None:
    h = confirming
    result = await h.agent.run_tool(actor=ALICE, thread=THREAD, tool_name="get_ticket", arguments={"key": "OPS-12"})
    assert result.status == "answered"
    assert "*key*: OPS-12" in result.text and "*summary*: Summary of OPS-12" in result.text
    assert h.server.bodies() == []
    assert [(t.tool, t.outcome) for t in result.trace] == [("get_ticket", "ok")]
    rows = await h.store.list_tool_calls(turn_id=result.turn_id)
    assert len(rows) == 1 and h.authz.calls == [("get_ticket", {"key": "OPS-12"}, "U0ALICE")]


async def test_run_tool_with_bad_arguments_says_what_is_wrong(confirming: Harness) -> None:
    result = await confirming.agent.run_tool(actor=ALICE, thread=THREAD, tool_name="get_ticket", arguments={"key": "twelve"})
    assert result.status == "failed" and "- key: expected string should match pattern" in result.text
    assert confirming.rec.calls == []


async def test_run_tool_write_waits_for_approval_then_runs_once(confirming: Harness) -> None:
    h = confirming
    paused = await h.agent.run_tool(actor=ALICE, thread=THREAD, tool_name="add_comment", arguments={"key": "OPS-12", "body": "LGTM"})
    assert paused.status == "paused" and paused.pending is not None
    assert h.rec.calls == []
    done = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert done.status == "answered" and "*body*: LGTM" in done.text
    assert [n for n, _ in h.rec.calls] == ["add_comment"] and h.server.bodies() == []


async def test_reads_needing_confirmation_pause_one_at_a_time_authorized_once_when_asked_and_once_when_approved(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    h = await make_harness(settings, database, server, clock, authz=ScriptedAuthorizer({"get_ticket": "confirm"}))
    server.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="r1"), tool_use("get_ticket", {"key": "OPS-2"}, id="r2"), tool_use("search_tickets", {"text": "vpn"}, id="r3")]),
        text_reply("Here they are."),
    )
    first = await h.ask()
    assert first.pending is not None and first.pending.arguments == {"key": "OPS-1"}
    assert [n for n, _ in h.rec.calls] == ["search_tickets"]  # the allowed read of the batch ran
    second = await h.agent.resume(approval_id=first.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert second.pending is not None and second.pending.arguments == {"key": "OPS-2"}
    done = await h.agent.resume(approval_id=second.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert done.text == "Here they are."
    assert [b["tool_use_id"] for b in last_results(server)] == ["r1", "r2", "r3"]
    # once each when asked (the second confirm is deferred, never asked twice), then each again when approved
    assert [(name, args.get("key")) for name, args, _ in h.authz.calls] == [
        ("get_ticket", "OPS-1"), ("get_ticket", "OPS-2"), ("search_tickets", None), ("get_ticket", "OPS-1"), ("get_ticket", "OPS-2"),
    ]
