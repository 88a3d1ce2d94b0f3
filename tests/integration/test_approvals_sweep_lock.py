"""The approval-expiry sweep continues a turn on the process's one Agent: it waits for a user's turn running in
the same thread instead of writing beside it (one table of per-thread locks in the process)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from bot.agent.loop import ThreadRef
from bot.agent.types import ProgressEvent
from bot.slack.approvals_ui import expire_approvals
from bot.tools.base import Actor
from tests.approvals_world import CHANNEL, MAYA, TEAM, ApprovalsWorld, request_comment
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import text_reply
from tests.log_events import log_seen


@pytest.fixture
def busy_thread_seen() -> Iterator[threading.Event]:
    with log_seen("thread busy: waiting for its current turn") as seen:
        yield seen


def test_the_slack_surface_and_the_sweep_share_the_process_agent(approvals_world: ApprovalsWorld) -> None:
    assert approvals_world.surface.agent is approvals_world.deps.agent  # the sweep's default agent is deps.agent


async def test_the_sweep_waits_for_a_users_turn_in_the_same_thread(
    approvals_world: ApprovalsWorld, clock: FixedClock, busy_thread_seen: threading.Event
) -> None:
    pending = (await request_comment(approvals_world)).pending
    assert pending is not None
    row = await approvals_world.store.get_approval(pending.approval_id)
    assert row is not None
    thread = ThreadRef(team_id=TEAM, channel_id=CHANNEL, thread_ts=row.thread_ts)
    clock.advance(approvals_world.deps.settings.chatops_approval_timeout_minutes * 60)

    # Maya asks again in the same thread; her answer streams and is held after its first words.
    gate, streaming = threading.Event(), asyncio.Event()
    approvals_world.model.queue(text_reply("OPS-1 is still open, nothing was commented.", gate=gate))
    approvals_world.model.queue(text_reply("The comment request expired, so I did not add it."))

    async def on_progress(event: ProgressEvent) -> None:
        if event.kind == "text":
            streaming.set()

    actor = Actor(user_id=MAYA, team_id=TEAM, channel_id=CHANNEL, channel_type="public")
    user_turn = asyncio.create_task(approvals_world.agent.run_turn(actor=actor, thread=thread, text="Is OPS-1 done?", on_progress=on_progress))
    await asyncio.wait_for(streaming.wait(), 10)
    requests_before = len(approvals_world.model.bodies())

    sweep = asyncio.create_task(expire_approvals(approvals_world.deps, clock()))
    assert await asyncio.to_thread(busy_thread_seen.wait, 10), "the sweep did not queue behind the user's turn"
    assert len(approvals_world.model.bodies()) == requests_before, "the sweep reached the model while the user's turn ran"

    gate.set()
    answered = await user_turn
    assert await sweep == 1
    assert answered.status == "answered"
    # The sweep's continuation came after the user's turn, with the expiry as the tool's result.
    last = approvals_world.model.bodies()[-1]
    results = [b for m in last["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"]
    assert results and "expired" in str(results[-1]["content"])
