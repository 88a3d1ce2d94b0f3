"""Approve / Cancel clicks when Slack's answer is lost: a dropped connection on the ephemeral reply is logged, the
click's handler finishes, and the reply is not sent twice."""

from __future__ import annotations

import logging

import pytest

from tests.approvals_world import LEO, ApprovalsWorld, request_comment


async def test_a_refused_click_whose_ephemeral_reply_dropped_is_logged_not_crashed(
    approvals_world: ApprovalsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    approvals_world.slack.fail("chat.postEphemeral", drop=True, applied=True)

    with caplog.at_level(logging.WARNING):
        response = await approvals_world.press(pending.approval_id, "approve", user=LEO)

    assert response.status == 200
    assert len(approvals_world.slack.calls("chat.postEphemeral")) == 1, "never sent twice"
    assert "ephemeral reply failed" in caplog.text and "listener failed" not in caplog.text
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None and row.status == "pending"
