"""Housekeeping: conversations and traces past retention are deleted (children first); expired approvals,
old dedupe rows and old run history are vacuumed; everything recent stays."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from bot.agent.state import ThreadRef
from bot.scheduler.jobs import housekeeping
from bot.slack.approvals_ui import expire_approvals
from bot.storage.tables import (
    ConversationRow,
    MessageRow,
    PendingApprovalRow,
    ProcessedEventRow,
    ReminderSentRow,
    ScheduleRunRow,
    ToolCallRow,
    TurnRow,
)
from bot.tools.base import Actor
from integrations.llm.scripted import ScriptedLLM, call, reply_text, reply_tools
from tests.schedules_world import CHANNEL, MEMBER, SLOT, SchedulesWorld, make_world

OLD = SLOT - timedelta(days=40)
"""Older than the 30-day retention of these tests."""
RECENT = SLOT - timedelta(days=2)


def _conversation(s: Session, cid: str, at: datetime, *, turn_at: datetime | None = None) -> None:
    s.add(
        ConversationRow(
            id=cid, channel_id="C0OPS", thread_ts=cid, user_id="U0MAYA", created_at=at, updated_at=at
        )
    )
    s.add(
        MessageRow(
            conversation_id=cid, seq=1, role="user", content=[{"type": "text", "text": "hi"}], created_at=at
        )
    )
    turn = turn_at or at
    s.add(TurnRow(id=f"{cid}-t", conversation_id=cid, user_id="U0MAYA", started_at=turn, status="answered"))
    s.flush()
    s.add(ToolCallRow(turn_id=f"{cid}-t", conversation_id=cid, tool_use_id="tu1", user_id="U0MAYA",
                      tool="get_ticket", outcome="ok", created_at=turn))  # fmt: skip


def _approval(s: Session, aid: str, *, expires: datetime, status: str) -> None:
    s.add(PendingApprovalRow(id=aid, conversation_id="c", turn_id="t", tool="add_comment", tool_use_id="tu",
                             requester_id="U0MAYA", channel_id="C0OPS", thread_ts="1.0", status=status,
                             created_at=expires - timedelta(hours=1), expires_at=expires))  # fmt: skip


def _seed(s: Session) -> None:
    _conversation(s, "old", OLD)
    _conversation(s, "recent", RECENT)
    _conversation(s, "long", RECENT, turn_at=OLD)  # an old trace in a conversation still in use
    _approval(s, "waiting", expires=SLOT + timedelta(minutes=30), status="pending")
    _approval(s, "stale-done", expires=SLOT - timedelta(days=3), status="done")
    s.add(ProcessedEventRow(key="event:old", created_at=SLOT - timedelta(days=3)))
    s.add(ProcessedEventRow(key="event:new", created_at=SLOT - timedelta(minutes=1)))
    s.add(ReminderSentRow(user_id="U0MAYA", day="2026-11-01", sent_at=SLOT - timedelta(days=30)))
    s.add(ReminderSentRow(user_id="U0MAYA", day="2026-11-30", sent_at=SLOT - timedelta(days=1)))
    for sid, at, status in (("d1", OLD, "done"), ("d1", RECENT, "done"), ("d2", OLD, "retrying")):
        s.add(ScheduleRunRow(schedule_id=sid, scheduled_for=at, owner="p", lease_until=at, status=status,
                             started_at=at))  # fmt: skip


def _ids(schedules_world: SchedulesWorld, model: Any, column: str) -> list[Any]:
    return sorted(schedules_world.deps.db.run_sync(lambda s: [getattr(r, column) for r in s.exec(select(model)).all()]))


async def test_housekeeping_deletes_what_is_past_retention_and_keeps_the_rest(schedules_world: SchedulesWorld) -> None:
    schedules_world.deps.db.run_sync(_seed)

    counts = await housekeeping(schedules_world.deps, SLOT, expire_approvals=expire_approvals)

    assert _ids(schedules_world, ConversationRow, "id") == ["long", "recent"]
    assert _ids(schedules_world, MessageRow, "conversation_id") == ["long", "recent"]
    assert _ids(schedules_world, TurnRow, "id") == ["recent-t"], "the old trace of a live conversation goes too"
    assert _ids(schedules_world, ToolCallRow, "turn_id") == ["recent-t"]
    assert counts["conversations"] == 1 and counts["turns"] == 2 and counts["tool_calls"] == 2


async def test_housekeeping_declines_a_real_approval_that_expired(schedules_world: SchedulesWorld) -> None:
    model = ScriptedLLM(
        [
            reply_tools(call("add_comment", key="OPS-1", body="Renewed.")),
            reply_text("The comment was not added."),
        ]
    )
    schedules_world = await make_world(schedules_world.deps.db, schedules_world.slack, schedules_world.deps.settings, now=schedules_world.clock(), llm=model)
    actor = Actor(user_id=MEMBER, channel_id=CHANNEL, channel_type="public")
    paused = await schedules_world.deps.agent.run_turn(
        actor=actor, thread=ThreadRef("T0TEAM", CHANNEL, "1.0"), text="comment"
    )
    assert paused.status == "paused" and paused.pending is not None
    schedules_world.clock.advance(2 * 3600)

    counts = await housekeeping(schedules_world.deps, schedules_world.clock(), expire_approvals=expire_approvals)

    approval = await schedules_world.store.get_approval(paused.pending.approval_id)
    assert approval is not None and approval.status == "expired"
    assert counts["expired_approvals"] == 1


async def test_housekeeping_vacuums_approvals_that_expired_days_ago(schedules_world: SchedulesWorld) -> None:
    schedules_world.deps.db.run_sync(_seed)

    counts = await housekeeping(schedules_world.deps, SLOT, expire_approvals=expire_approvals)

    ids = _ids(schedules_world, PendingApprovalRow, "id")
    assert "stale-done" not in ids and "waiting" in ids
    assert counts["approvals_deleted"] == 1


async def test_housekeeping_vacuums_dedupe_rows_and_old_run_history(schedules_world: SchedulesWorld) -> None:
    schedules_world.deps.db.run_sync(_seed)

    await housekeeping(schedules_world.deps, SLOT, expire_approvals=expire_approvals)

    assert _ids(schedules_world, ProcessedEventRow, "key") == ["event:new"]
    assert _ids(schedules_world, ReminderSentRow, "day") == ["2026-11-30"]
    runs = schedules_world.deps.db.run_sync(
        lambda s: sorted((r.schedule_id, r.status) for r in s.exec(select(ScheduleRunRow)))
    )
    assert runs == [("d1", "done"), ("d2", "retrying")], "an unfinished run is never deleted"


async def test_housekeeping_twice_is_harmless(schedules_world: SchedulesWorld) -> None:
    schedules_world.deps.db.run_sync(_seed)
    await housekeeping(schedules_world.deps, SLOT, expire_approvals=expire_approvals)

    again = await housekeeping(schedules_world.deps, SLOT, expire_approvals=expire_approvals)

    assert not any(again.values())
