"""Approve / Cancel through the real Bolt app: the exact action is stated, only the requester or an admin decides,
the call runs once whatever the clicks, Cancel and expiry tell the model, and pending approvals survive restarts."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from bot.messages import approvals as approval_text
from bot.slack.approvals_ui import expire_approvals
from bot.storage.db import Database
from bot.storage.tables import PendingApprovalRow
from tests.approvals_world import (
    ADMIN,
    CHANNEL,
    COMMENT,
    LEO,
    MAYA,
    ApprovalsWorld,
    click,
    close_world,
    make_world,
    request_comment,
)
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.fakes.slack_server import FakeSlack


async def comments(approvals_world: ApprovalsWorld, key: str = "OPS-1") -> list[str]:
    """Comment bodies on the ticket, without the "via Slack by ..." attribution line."""
    return [c.body.split("\n\n_via Slack")[0] for c in (await approvals_world.deps.tickets.list_comments(key)).comments]


def tool_result(body: dict[str, Any], tool_use_id: str) -> dict[str, Any]:
    return next(
        block
        for message in body["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result" and block["tool_use_id"] == tool_use_id
    )


def message_with_buttons(approvals_world: ApprovalsWorld) -> dict[str, Any]:
    return next(c.args for c in reversed(approvals_world.slack.calls("chat.postMessage")) if "actions" in str(c.args.get("blocks")))


async def test_a_members_write_waits_with_the_exact_action_and_every_argument_stated(approvals_world: ApprovalsWorld) -> None:
    result = await request_comment(approvals_world)
    posted = message_with_buttons(approvals_world)
    texts = " ".join(str(b.get("text", b.get("elements"))) for b in posted["blocks"])
    assert "Add a comment to OPS-1" in texts and "Tool: `add_comment`" in texts
    assert "*Ticket:* OPS-1" in texts
    # Argument text can never ping or link: Slack control sequences are escaped.
    assert "&lt;!channel&gt; &amp; rolled back &lt;@U0LEO&gt;" in texts and "<!channel>" not in texts
    buttons = next(b for b in posted["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == [
        f"chatops.approval/v1/approve/{result.pending.approval_id}",  # type: ignore[union-attr]
        f"chatops.approval/v1/cancel/{result.pending.approval_id}",  # type: ignore[union-attr]
    ]
    assert await comments(approvals_world) == []
    row = await approvals_world.store.get_approval(result.pending.approval_id)  # type: ignore[union-attr]
    assert row is not None and row.status == "pending"
    carrying = await approvals_world.buttons_message(row.id)  # remembered, so expiry can update it
    assert f"chatops.approval/v1/approve/{row.id}" in str(carrying.blocks)


async def test_approve_runs_the_call_once_and_the_turn_continues_in_the_thread(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    approvals_world.model.queue(text_reply("Done: I commented on OPS-1."))

    response = await approvals_world.press(pending.approval_id, "approve", user=MAYA)

    assert response.status == 200
    assert await comments(approvals_world) == [COMMENT["body"]]
    result_block = tool_result(approvals_world.model.bodies()[-1], "toolu_comment")
    assert not result_block.get("is_error")
    answer = approvals_world.slack.calls("chat.postMessage")[-1].args
    assert "Done: I commented on OPS-1." in str(answer)
    shown = await approvals_world.buttons_message(pending.approval_id)
    assert "Approved and done by <@U0MAYA>" in shown.text
    assert all(b["type"] != "actions" for b in shown.blocks)  # the buttons are gone
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and (row.status, row.decided_by) == ("done", MAYA)


async def test_a_second_click_runs_nothing_and_says_it_was_already_decided(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    approvals_world.model.queue(text_reply("Done."))
    await approvals_world.press(pending.approval_id, "approve", user=MAYA)
    requests_before = len(approvals_world.model.bodies())

    await approvals_world.press(pending.approval_id, "approve", user=MAYA)

    assert await comments(approvals_world) == [COMMENT["body"]]
    assert len(approvals_world.model.bodies()) == requests_before
    assert approvals_world.ephemerals(MAYA)[-1] == "This request was already done; nothing more was done."


async def test_clicks_racing_in_two_processes_run_the_call_once(
    approvals_world: ApprovalsWorld, database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock
) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    other = await make_world(database, slack, model, clock)
    model.queue(text_reply("Done."))
    try:
        await asyncio.gather(
            approvals_world.press(pending.approval_id, "approve", user=MAYA),
            other.press(pending.approval_id, "approve", user=MAYA),
            approvals_world.press(pending.approval_id, "approve", user=ADMIN),
        )
    finally:
        await close_world(other)
    assert await comments(approvals_world) == [COMMENT["body"]]
    assert model.pending() == 0 and len(model.bodies()) == 2  # one request to pause, one to continue


async def test_anyone_but_the_requester_or_an_admin_is_refused_and_nothing_changes(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None

    await approvals_world.press(pending.approval_id, "approve", user=LEO)

    assert approvals_world.ephemerals(LEO) == [
        "Only <@U0MAYA> (who asked) or a chatops admin can approve or cancel this. Nothing was done."
    ]
    assert await comments(approvals_world) == []
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "pending"


async def test_an_admin_may_approve_someone_elses_request_which_runs_as_the_requester(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    approvals_world.model.queue(text_reply("Done."))

    await approvals_world.press(pending.approval_id, "approve", user=ADMIN)

    assert await comments(approvals_world) == [COMMENT["body"]]
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.decided_by == ADMIN and row.requester_id == MAYA


async def test_cancel_tells_the_model_it_was_declined_and_runs_nothing(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    approvals_world.model.queue(text_reply("OK, I left OPS-1 alone."))

    await approvals_world.press(pending.approval_id, "cancel", user=MAYA)

    assert await comments(approvals_world) == []
    declined = tool_result(approvals_world.model.bodies()[-1], "toolu_comment")
    assert declined["is_error"] is True and "declined" in str(declined["content"])
    assert "Cancelled by <@U0MAYA>" in (await approvals_world.buttons_message(pending.approval_id)).text
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "cancelled"


async def test_no_answer_within_the_timeout_expires_the_request_and_tells_the_model(approvals_world: ApprovalsWorld, clock: FixedClock) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    approvals_world.model.queue(text_reply("The request expired, so I did not comment."))
    clock.advance(approvals_world.deps.settings.chatops_approval_timeout_minutes * 60)

    assert await expire_approvals(approvals_world.deps, clock(), agent=approvals_world.agent) == 1
    assert await expire_approvals(approvals_world.deps, clock(), agent=approvals_world.agent) == 0  # once

    expired = tool_result(approvals_world.model.bodies()[-1], "toolu_comment")
    assert expired["is_error"] is True and "expired" in str(expired["content"])
    assert "Expired without an answer" in (await approvals_world.buttons_message(pending.approval_id)).text
    assert "The request expired" in str(approvals_world.slack.calls("chat.postMessage")[-1].args)
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "expired"
    await approvals_world.press(pending.approval_id, "approve", user=MAYA)
    assert approvals_world.ephemerals(MAYA)[-1] == "This request was already expired; nothing more was done."
    assert await comments(approvals_world) == []


async def test_approve_clicked_after_the_expiry_time_never_runs(approvals_world: ApprovalsWorld, clock: FixedClock) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    approvals_world.model.queue(text_reply("It expired."))
    clock.advance(approvals_world.deps.settings.chatops_approval_timeout_minutes * 60 + 1)

    await approvals_world.press(pending.approval_id, "approve", user=MAYA)

    assert await comments(approvals_world) == []
    assert approvals_world.ephemerals(MAYA)[0].startswith("This request expired at ")
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "expired"


async def test_a_pending_approval_survives_a_restart_of_the_bot(
    approvals_world: ApprovalsWorld, database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock
) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    await close_world(approvals_world)  # the process goes away; only the database remains

    restarted = await make_world(database, slack, model, clock)
    model.queue(text_reply("Done after the restart."))
    try:
        await restarted.press(pending.approval_id, "approve", user=MAYA)
    finally:
        await close_world(restarted)

    assert await comments(restarted) == [COMMENT["body"]]
    assert "Done after the restart." in str(slack.calls("chat.postMessage")[-1].args)


async def test_buttons_from_an_older_version_get_a_clear_message_and_change_nothing(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None

    await approvals_world.press(pending.approval_id, "approve", user=MAYA, version=0)

    assert approvals_world.ephemerals(MAYA) == [
        "These buttons are from an older version of chatops and no longer work. Ask again to get a fresh request."
    ]
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "pending"


async def test_a_click_on_an_unknown_request_says_so(approvals_world: ApprovalsWorld) -> None:
    await approvals_world.dispatch(click("0123456789abcdef", "approve", user=MAYA))
    assert approvals_world.ephemerals(MAYA) == ["I can't find that approval request any more; nothing was done."]


async def test_approve_re_checks_the_policy_as_it_is_now(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    version = await approvals_world.store.config_version()
    await approvals_world.store.apply_config(actor_id=ADMIN, expected_version=version, assignments={MAYA: "viewer"})
    approvals_world.model.queue(text_reply("It was not allowed any more."))

    await approvals_world.press(pending.approval_id, "approve", user=MAYA)

    assert await comments(approvals_world) == []
    assert approvals_world.ephemerals(MAYA)[0] == "This action is no longer permitted under the current policy, so it was not carried out."
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "cancelled"


async def test_resuming_outside_slack_cannot_run_a_write_the_policy_no_longer_permits(approvals_world: ApprovalsWorld) -> None:
    # the shell (or any other caller) resumes without the Slack handler's check: the agent checks again itself
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    version = await approvals_world.store.config_version()
    await approvals_world.store.apply_config(actor_id=ADMIN, expected_version=version, assignments={MAYA: "viewer"})
    approvals_world.model.queue(text_reply("That is not allowed any more."))

    result = await approvals_world.agent.resume(approval_id=pending.approval_id, approved=True, decided_by=MAYA)

    assert result.text == "That is not allowed any more."
    assert await comments(approvals_world) == []
    refused = tool_result(approvals_world.model.bodies()[-1], "toolu_comment")
    assert refused["is_error"] is True and "no longer permitted" in str(refused["content"])
    (denied,) = await approvals_world.store.list_audit(action="denied")
    assert (denied.user_id, denied.target) == (MAYA, "OPS-1")


async def forget_saved_turn(approvals_world: ApprovalsWorld, approval_id: str) -> None:
    """The approval's saved turn is gone (e.g. written by an incompatible version)."""

    def _forget(session: Session) -> None:
        session.exec(update(PendingApprovalRow).where(col(PendingApprovalRow.id) == approval_id).values(state=None))

    await approvals_world.deps.db.run(_forget)


async def test_an_overdue_request_whose_saved_turn_is_lost_is_expired_once_and_the_thread_is_told(
    approvals_world: ApprovalsWorld, clock: FixedClock
) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    await forget_saved_turn(approvals_world, pending.approval_id)
    clock.advance(approvals_world.deps.settings.chatops_approval_timeout_minutes * 60)

    assert await expire_approvals(approvals_world.deps, clock(), agent=approvals_world.agent) == 1
    assert await expire_approvals(approvals_world.deps, clock(), agent=approvals_world.agent) == 0  # never pending forever

    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "expired"
    assert "Expired without an answer" in (await approvals_world.buttons_message(pending.approval_id)).text
    assert approval_text.approval_state_lost("expired") in str(approvals_world.slack.calls("chat.postMessage")[-1].args)


async def test_approving_a_request_whose_saved_turn_is_lost_fails_clearly_and_runs_nothing(approvals_world: ApprovalsWorld) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    await forget_saved_turn(approvals_world, pending.approval_id)

    await approvals_world.press(pending.approval_id, "approve", user=MAYA)

    assert await comments(approvals_world) == []
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "failed"
    assert "Approved, but it failed" in (await approvals_world.buttons_message(pending.approval_id)).text
    assert approval_text.approval_state_lost("failed") in str(approvals_world.slack.calls("chat.postMessage")[-1].args)


async def test_an_admins_write_runs_without_confirmation(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(tool_use_reply([tool_use("add_comment", COMMENT, id="toolu_c")]), text_reply("Commented."))
    result, _ = await approvals_world.ask(ADMIN, "Comment on OPS-1")
    assert result.status == "answered"
    assert await comments(approvals_world) == [COMMENT["body"]]


async def test_the_buttons_message_is_in_the_thread_of_the_question(approvals_world: ApprovalsWorld) -> None:
    result = await request_comment(approvals_world)
    posted = message_with_buttons(approvals_world)
    assert posted["channel"] == CHANNEL and posted["thread_ts"]
    assert result.pending is not None and result.pending.requester_id == MAYA
