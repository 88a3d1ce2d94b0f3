"""Durable turns across two bot "processes" on one database (issue #10): a turn whose process died is ended once,
by exactly one other process, with an explicit message; a read-only one is answered again; an approved write whose
answer was lost is reconciled against the ticket, never sent again.

Each world is one bot process (real Bolt app, Agent, AnthropicLLM and Slack client against the fakes) with its own
lease owner. A process "dies" by having its conversation tasks cancelled; its lease then expires on the shared
fixed clock. The process-level SIGKILL tests are in test_durable_process.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from bot.messages import agent as agent_text
from bot.messages import approvals as approval_text
from bot.slack.recovery import TurnKeeper
from bot.storage.db import Database
from bot.storage.leases import Leases, Owner
from bot.storage.migrations import migrate
from tests.approvals_world import ADMIN, CHANNEL, MAYA, ApprovalsWorld, close_world, make_world
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, Reply, text_reply, tool_use, tool_use_reply
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_server import JiraServer
from tests.fakes.slack_data import StoredMessage
from tests.fakes.slack_payloads import mention
from tests.fakes.slack_server import FakeSlack

LEASE = timedelta(seconds=30)
MENTION = f"<@{FakeSlack.BOT_USER_ID}>"


def owner(name: str) -> Owner:
    return Owner(host=f"host-{name}", pid_ns="pid:[1]", pid=1, token=name)


async def process(database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock, name: str, **kw: object) -> ApprovalsWorld:
    return await make_world(database, slack, model, clock, leases=Leases(owner(name), LEASE), **kw)  # type: ignore[arg-type]


def die(approvals_world: ApprovalsWorld) -> asyncio.Future[list[object]]:
    """The process stops running its conversations (its rows stay as they were)."""
    return asyncio.ensure_future(approvals_world.surface.tasks.cancel_all())  # type: ignore[arg-type]


def thread(slack: FakeSlack, ts: str) -> list[StoredMessage]:
    return [m for m in slack.thread(CHANNEL, ts) if m.bot_id]


def restarted(messages: list[StoredMessage]) -> list[StoredMessage]:
    return [m for m in messages if "I was restarted while working on this" in m.text]


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    with JiraServer() as server:
        yield server


@pytest.fixture
async def worlds(database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock) -> AsyncIterator[list[ApprovalsWorld]]:
    await migrate(database)
    from tests.approvals_world import seed_tickets

    await seed_tickets(database, clock)
    made = [await process(database, slack, model, clock, name) for name in ("a", "b", "c")]
    yield made
    for approvals_world in made:
        await approvals_world.surface.tasks.cancel_all()
        await close_world(approvals_world)


async def ask_in_slack(approvals_world: ApprovalsWorld, text: str, *, user: str = MAYA) -> str:
    asked = approvals_world.slack.post_user_message(CHANNEL, user=user, text=text)
    await approvals_world.dispatch({"type": "event_callback", "team_id": "T0TEAM", "event_id": f"Ev{asked}", "event": mention(channel=CHANNEL, user=user, text=text, ts=asked)})
    return asked


async def test_a_turn_cut_during_a_model_call_is_answered_again_once_by_one_other_process(worlds: list[ApprovalsWorld], clock: FixedClock) -> None:
    a, b, c = worlds
    gate = threading.Event()
    a.model.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]),
        Reply(content=["OPS-1 is being looked at, more soon."], gate=gate),
    )
    asked = await ask_in_slack(a, f"{MENTION} what is OPS-1?")
    await a.model.await_messages(2)
    await a.slack.await_call("chat.startStream")  # the dead process left a live stream (its task card) in the thread
    await die(a)
    gate.set()
    a.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("OPS-1 is the certificate rotation."))
    clock.advance(LEASE.total_seconds() + 1)

    shown = await asyncio.gather(TurnKeeper(b.surface).tick(), TurnKeeper(c.surface).tick())
    assert sorted(len(s) for s in shown) == [0, 1]  # exactly one process took it over
    for approvals_world in (b, c):
        assert await approvals_world.surface.tasks.join(timeout=15)

    mine = thread(a.slack, asked)
    assert [m.text for m in restarted(mine)] == [agent_text.restarted_rerunning()]
    answers = [m for m in mine if "certificate rotation" in m.text]
    assert len(answers) == 1 and len(mine) == 2  # the stale stream became the explicit message
    assert not any(m.streaming for m in mine)
    assert [s for s in a.slack.statuses if s[1] == asked][-1][2] == ""
    turns = await b.store.list_turns((await b.store.find_conversation(team_id="T0TEAM", channel_id=CHANNEL, thread_ts=asked)).id)  # type: ignore[union-attr]
    assert [t.status for t in turns] == ["interrupted", "answered"]
    assert await TurnKeeper(c.surface).tick() == []  # nothing left to do


async def test_a_turn_past_the_recovery_window_is_ended_with_an_explicit_message(worlds: list[ApprovalsWorld], clock: FixedClock) -> None:
    a, b, _ = worlds
    gate = threading.Event()
    a.model.queue(Reply(content=["Looking."], gate=gate))
    asked = await ask_in_slack(a, f"{MENTION} what is OPS-1?")
    await a.model.await_messages(1)
    await die(a)
    gate.set()
    clock.advance(b.deps.settings.chatops_recovery_window_seconds + 1)

    [recovered] = await TurnKeeper(b.surface).tick()
    assert not recovered.rerun
    [message] = restarted(thread(a.slack, asked))
    assert message.text == agent_text.restarted_ended([])
    asked_message = next(m for m in a.slack.thread(CHANNEL, asked) if m.ts == asked)
    assert asked_message.reactions == ["warning"]  # 👀 replaced
    assert len(a.model.bodies()) == 1  # not re-run


@pytest.mark.parametrize("lands", [True, False], ids=["landed", "lost"])
async def test_an_approved_write_cut_mid_request_is_reconciled_and_never_sent_again(
    database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock, jira: JiraServer, lands: bool
) -> None:
    await migrate(database)
    a = await process(database, slack, model, clock, "a", tickets=jira_backend(jira))
    b = await process(database, slack, model, clock, "b", tickets=jira_backend(jira))
    try:
        body = "Deployed the fix to the edge proxies"
        a.model.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-2", "body": body}, id="toolu_c")]))
        result, _ = await a.ask(MAYA, "Tell OPS-2 the fix is deployed")
        assert result.pending is not None
        approval_id = result.pending.approval_id
        hold = threading.Event()
        jira.fault("POST", r"/issue/OPS-2/comment$", hold=hold, status=None if lands else 500)
        pressing = asyncio.ensure_future(a.press(approval_id, "approve", user=MAYA))
        await asyncio.to_thread(jira.wait_for, lambda reqs: any(r.method == "POST" and r.path.endswith("/comment") for r in reqs))
        pressing.cancel()  # process a dies while Jira holds the write
        await asyncio.gather(pressing, return_exceptions=True)
        hold.set()
        await asyncio.to_thread(jira.wait_for, lambda reqs: len(reqs) > 0)

        row = await b.store.get_approval(approval_id)
        assert row is not None and row.status == "approved"
        await b.press(approval_id, "approve", user=MAYA)  # a second click claims nothing it did not see
        assert b.ephemerals(MAYA)[-1] == approval_text.approval_already_decided("approved")
        assert "outcome not known yet" in (await b.buttons_message(approval_id)).text

        clock.advance(LEASE.total_seconds() + 1)
        [recovered] = await TurnKeeper(b.surface).tick()
        assert not recovered.rerun
        outcome = "done" if lands else "failed"
        assert (await b.store.get_approval(approval_id)).status == outcome  # type: ignore[union-attr]
        [ledger] = await b.store.turn_writes(result.turn_id)  # type: ignore[arg-type]
        assert ledger.status == ("done" if lands else "not_applied")
        [message] = restarted(thread(slack, row.thread_ts))
        assert ("This was done" if lands else "This was not done") in message.text
        buttons = await b.buttons_message(approval_id)
        assert "actions" not in str(buttons.blocks) and approval_text.approval_outcome(outcome, MAYA, "")[:12] in str(buttons.blocks)
        assert jira.sent("POST", r"/issue/OPS-2/comment$") == 1  # never sent again
        await b.press(approval_id, "approve", user=ADMIN)
        assert jira.sent("POST", r"/issue/OPS-2/comment$") == 1
    finally:
        for approvals_world in (a, b):
            await close_world(approvals_world)


async def test_a_shutdown_waits_for_an_approved_write_still_being_sent(
    database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock, jira: JiraServer
) -> None:
    # A drain joins the surface's tasks before handing turns over; the click's work must be one of them, or the
    # turn is handed over (and reconciled by another process as not done) while its write is still on the wire.
    await migrate(database)
    a = await process(database, slack, model, clock, "a", tickets=jira_backend(jira))
    hold = threading.Event()
    try:
        a.model.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-2", "body": "Rolled back"}, id="toolu_c")]))
        result, _ = await a.ask(MAYA, "Tell OPS-2 we rolled back")
        assert result.pending is not None
        a.model.queue(text_reply("Commented on OPS-2."))
        jira.fault("POST", r"/issue/OPS-2/comment$", hold=hold, status=None)
        pressing = asyncio.ensure_future(a.press(result.pending.approval_id, "approve", user=MAYA))
        await asyncio.to_thread(jira.wait_for, lambda reqs: any(r.method == "POST" and r.path.endswith("/comment") for r in reqs))

        assert a.surface.tasks.active == 1  # the approved write in flight is what a drain waits for
        assert not await a.surface.tasks.join(timeout=0)
        hold.set()

        assert await a.surface.tasks.join(timeout=30)
        await pressing
        assert jira.sent("POST", r"/issue/OPS-2/comment$") == 1
        calls = await a.store.list_tool_calls(turn_id=result.turn_id)
        assert [(c.tool, c.outcome) for c in calls] == [("add_comment", "ok")]
    finally:
        hold.set()
        await close_world(a)
