"""Schedules in the `/chatops config` modal, through the real Bolt app: the list with its buttons, Pause/Resume/
Delete acting at once (views.update), Edit/Add pushing the digest editor (views.push), admin rights re-checked on
every click and submission, every change audited. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.slack.schedule_editor import CALLBACK_ID as EDITOR
from bot.slack.schedules_section import ScheduleVerb, action_id
from bot.storage.tables import ScheduleRow
from tests.admin_modal_driver import CONFIG_VIEW_ID, blocks_by_id, open_modal, updated_config
from tests.approvals_world import ADMIN, CHANNEL, MAYA, TEAM, ApprovalsWorld
from tests.fakes.slack_payloads import interaction
from tests.fakes.slack_server import FakeSlack


async def add_schedule(approvals_world: ApprovalsWorld, schedule_id: str, *, name: str = "Ops morning", enabled: bool = True) -> None:
    """A weekday 09:00 Berlin digest of OPS in #ops, stored as `/chatops digest add` stores it."""
    row = ScheduleRow(
        id=schedule_id, name=name, kind="digest", channel_id=CHANNEL, project_key="OPS", cron="0 9 * * 1-5",
        timezone="Europe/Berlin", enabled=enabled, created_by=ADMIN,
        options={"every": "weekdays", "time": "09:00", "stale_days": 3},
    )  # fmt: skip
    await approvals_world.store.save_schedule(row, by=ADMIN, action="add")


def buttons(view: dict[str, Any], schedule_id: str) -> dict[str, dict[str, Any]]:
    """The buttons of one schedule, by label."""
    return {e["text"]["text"]: e for e in blocks_by_id(view)[f"schedule:{schedule_id}"]["elements"]}


def click(view: dict[str, Any], verb: ScheduleVerb, value: str, *, user: str = ADMIN) -> dict[str, Any]:
    """The block_actions payload Slack sends when `user` clicks a schedule button inside the open config modal."""
    return {
        **interaction("block_actions", user=user, trigger="2", team_id=TEAM),
        "container": {"type": "view", "view_id": CONFIG_VIEW_ID},
        "view": {**view, "id": CONFIG_VIEW_ID, "team_id": TEAM, "state": {"values": {}}, "hash": "1.abc",
                 "root_view_id": CONFIG_VIEW_ID, "previous_view_id": None, "app_id": FakeSlack.APP_ID},
        "actions": [{"action_id": action_id(verb), "block_id": f"schedule:{value}", "value": value,
                     "type": "button", "text": {"type": "plain_text", "text": verb}, "action_ts": "1763476400.2"}],
        "is_enterprise_install": False,
        "enterprise": None,
    }  # fmt: skip


def editor_state(view: dict[str, Any], **changes: str) -> dict[str, Any]:
    """The state.values Slack sends when the editor is saved: each input's initial value, or `changes`."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element, block_id = block["element"], block["block_id"]
        kind, value = element["type"], changes.get(block["block_id"])
        if kind == "conversations_select":
            state = {"type": kind, "selected_conversation": value or element.get("initial_conversation")}
        elif kind == "timepicker":
            state = {"type": kind, "selected_time": value or element.get("initial_time")}
        elif kind == "static_select":
            option = {"value": value} if value else element.get("initial_option")
            state = {"type": kind, "selected_option": option}
        else:
            state = {"type": kind, "value": value if value is not None else element.get("initial_value")}
        values[block_id] = {"value": state}
    return values


async def save_editor(approvals_world: ApprovalsWorld, editor: dict[str, Any], *, user: str = ADMIN, **changes: str) -> dict[str, Any]:
    """Press Save in the pushed editor; returns the ack body ({} = the editor closes)."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": FakeSlack.APP_ID,
        "trigger_id": "13345224609.738474920.8088930838d88f008e3",
        "view": {**editor, "id": "V0EDITOR", "state": {"values": editor_state(editor, **changes)},
                 "root_view_id": CONFIG_VIEW_ID, "previous_view_id": CONFIG_VIEW_ID},
    }  # fmt: skip
    response = await approvals_world.dispatch(payload)
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


async def push_editor(approvals_world: ApprovalsWorld, verb: ScheduleVerb, value: str) -> dict[str, Any]:
    """Click Edit or Add in the config modal; returns the editor view that was pushed over it."""
    config = await open_modal(approvals_world)
    await approvals_world.dispatch(click(config, verb, value))
    [push] = approvals_world.slack.calls("views.push")
    assert push.args["trigger_id"] == "13345224609.738474920.8088930838d88f008e2"
    return dict(push.args["view"])


async def test_the_config_modal_lists_every_schedule_with_its_state_next_run_and_buttons(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")
    await add_schedule(approvals_world, "d0000002", name="Ops <!channel> weekly", enabled=False)

    view = await open_modal(approvals_world)

    blocks = blocks_by_id(view)
    active = blocks["schedule-info:d0000001"]["text"]["text"]
    assert "*Ops morning* `d0000001`" in active and "OPS in <#C0OPS>" in active
    assert "weekdays at 09:00 Europe/Berlin" in active and "active · next run Thu 19 Nov 09:00 CET" in active
    paused = blocks["schedule-info:d0000002"]["text"]["text"]
    assert "paused · no next run" in paused and "&lt;!channel&gt;" in paused, "names cannot mention anyone"
    assert list(buttons(view, "d0000001")) == ["Edit", "Pause", "Delete"]
    assert list(buttons(view, "d0000002")) == ["Edit", "Resume", "Delete"]
    assert buttons(view, "d0000001")["Delete"]["confirm"]["confirm"]["text"] == "Delete"
    assert blocks["schedules:add"]["elements"][0]["action_id"] == "chatops.schedule.add"


async def test_pause_acts_at_once_updates_the_modal_and_is_audited(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")
    view = await open_modal(approvals_world)

    await approvals_world.dispatch(click(view, "pause", "d0000001"))

    row = await approvals_world.store.get_schedule("d0000001")
    assert row is not None and not row.enabled
    [audit] = await approvals_world.store.list_audit(action="schedule.pause")
    assert (audit.user_id, audit.target) == (ADMIN, "d0000001")
    shown = updated_config(approvals_world)
    assert list(buttons(shown, "d0000001")) == ["Edit", "Resume", "Delete"]
    assert "Paused `d0000001` (Ops morning)." in blocks_by_id(shown)["schedules:intro"]["elements"][0]["text"]
    assert shown["private_metadata"] == view["private_metadata"], "Save still checks the version it was opened at"


async def test_resume_turns_a_paused_schedule_back_on(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001", enabled=False)
    view = await open_modal(approvals_world)

    await approvals_world.dispatch(click(view, "resume", "d0000001"))

    row = await approvals_world.store.get_schedule("d0000001")
    assert row is not None and row.enabled
    assert [a.target for a in await approvals_world.store.list_audit(action="schedule.resume")] == ["d0000001"]
    assert "next run Thu 19 Nov 09:00 CET" in blocks_by_id(updated_config(approvals_world))["schedule-info:d0000001"]["text"]["text"]


async def test_delete_is_confirmed_by_slack_then_deletes_at_once_and_is_audited(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")
    await add_schedule(approvals_world, "d0000002", name="Ops weekly")
    view = await open_modal(approvals_world)
    assert "Delete *Ops morning*?" in buttons(view, "d0000001")["Delete"]["confirm"]["text"]["text"]

    await approvals_world.dispatch(click(view, "delete", "d0000001"))  # Slack sends the click only after "Delete" in the dialog

    assert [r.id for r in await approvals_world.store.list_schedules()] == ["d0000002"]
    assert [a.target for a in await approvals_world.store.list_audit(action="schedule.delete")] == ["d0000001"]
    shown = blocks_by_id(updated_config(approvals_world))
    assert "schedule:d0000001" not in shown and "schedule:d0000002" in shown


async def test_a_click_by_someone_who_is_not_an_admin_changes_nothing_and_is_logged_and_audited(
    approvals_world: ApprovalsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    await add_schedule(approvals_world, "d0000001")
    view = await open_modal(approvals_world)  # an admin's modal; Maya replays its button as herself

    with caplog.at_level(logging.WARNING, logger="chatops.scheduler.slack"):
        for verb in ("pause", "delete", "edit"):
            await approvals_world.dispatch(click(view, verb, "d0000001", user=MAYA))

    row = await approvals_world.store.get_schedule("d0000001")
    assert row is not None and row.enabled
    assert [a.action for a in await approvals_world.store.list_audit() if a.action.startswith("schedule.")] == ["schedule.add"]
    denials = [r for r in await approvals_world.store.config_audit() if r.action == "config_denied"]
    assert [(d.user_id, d.details["action"]) for d in reversed(denials)] == [  # type: ignore[index]
        (MAYA, "schedule.pause"), (MAYA, "schedule.delete"), (MAYA, "schedule.edit"),
    ]  # fmt: skip
    assert sum(r.getMessage() == "schedule change refused: not an admin" for r in caplog.records) == 3
    assert approvals_world.slack.calls("views.push") == []
    assert "Only chatops admins can change schedules" in json.dumps(updated_config(approvals_world))


async def test_edit_pushes_the_editor_filled_with_the_schedule(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")

    editor = await push_editor(approvals_world, "edit", "d0000001")

    assert editor["callback_id"] == EDITOR and editor["title"]["text"] == "Edit digest"
    fields = blocks_by_id(editor)
    assert fields["project"]["element"]["initial_value"] == "OPS"
    assert fields["channel"]["element"]["initial_conversation"] == CHANNEL
    assert fields["timezone"]["element"]["initial_value"] == "Europe/Berlin"
    assert json.loads(editor["private_metadata"])["parent"]["view_id"] == CONFIG_VIEW_ID


async def test_saving_an_edit_from_the_modal_saves_audits_and_refreshes_the_list(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")
    editor = await push_editor(approvals_world, "edit", "d0000001")

    ack = await save_editor(approvals_world, editor, every="daily", time="10:30", name="Ops daily")

    assert ack == {}  # the editor closes; the config modal underneath is shown again
    row = await approvals_world.store.get_schedule("d0000001")
    assert row is not None and (row.name, row.cron) == ("Ops daily", "30 10 * * *")
    [audit] = await approvals_world.store.list_audit(action="schedule.edit")
    assert (audit.user_id, audit.target) == (ADMIN, "d0000001")
    listed = blocks_by_id(updated_config(approvals_world))["schedule-info:d0000001"]["text"]["text"]
    assert "*Ops daily*" in listed and "daily at 10:30 Europe/Berlin" in listed
    assert approvals_world.slack.calls("chat.postEphemeral") == [] and approvals_world.slack.calls("chat.postMessage") == []


async def test_add_pushes_an_empty_editor_and_saving_it_lists_the_new_schedule(approvals_world: ApprovalsWorld) -> None:
    editor = await push_editor(approvals_world, "add", "add")
    assert editor["title"]["text"] == "New digest"
    assert blocks_by_id(editor)["timezone"]["element"]["initial_value"] == "Europe/Berlin", "the admin's time zone"

    ack = await save_editor(approvals_world, editor, project="OPS", channel=CHANNEL, name="Ops morning")

    assert ack == {}
    [row] = await approvals_world.store.list_schedules()
    assert (row.project_key, row.cron, row.created_by) == ("OPS", "0 9 * * 1-5", ADMIN)
    assert [a.target for a in await approvals_world.store.list_audit(action="schedule.add")] == [row.id]
    assert f"schedule:{row.id}" in blocks_by_id(updated_config(approvals_world))


async def test_the_pushed_editor_shows_field_errors_and_saves_nothing(approvals_world: ApprovalsWorld) -> None:
    editor = await push_editor(approvals_world, "add", "add")

    ack = await save_editor(approvals_world, editor, project="SEC", channel=CHANNEL, timezone="europe/berlin")

    assert ack["response_action"] == "errors"
    assert "did you mean Europe/Berlin" in ack["errors"]["timezone"]
    assert "SEC" in ack["errors"]["project"]
    assert await approvals_world.store.list_schedules() == [] and approvals_world.slack.calls("views.update") == []


async def test_a_forged_editor_submission_by_a_non_admin_is_refused_and_audited(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")
    editor = await push_editor(approvals_world, "edit", "d0000001")

    ack = await save_editor(approvals_world, editor, user=MAYA, name="Hijacked")

    assert ack["response_action"] == "errors"
    row = await approvals_world.store.get_schedule("d0000001")
    assert row is not None and row.name == "Ops morning"
    denials = [r for r in await approvals_world.store.config_audit() if r.action == "config_denied"]
    assert [(d.user_id, d.details["action"]) for d in denials] == [(MAYA, "schedule.save")]  # type: ignore[index]


async def test_a_schedule_deleted_by_someone_else_meanwhile_is_reported_in_the_modal(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")
    view = await open_modal(approvals_world)
    await approvals_world.store.delete_schedule("d0000001", by="U0OTHERADMIN")

    await approvals_world.dispatch(click(view, "pause", "d0000001"))

    shown = blocks_by_id(updated_config(approvals_world))
    assert "There is no schedule `d0000001`" in shown["schedules:intro"]["elements"][0]["text"]
    assert "schedule:d0000001" not in shown
    assert await approvals_world.store.list_schedules() == []


async def test_a_trigger_slack_refuses_for_the_editor_is_reported_in_the_modal(approvals_world: ApprovalsWorld) -> None:
    await add_schedule(approvals_world, "d0000001")
    approvals_world.slack.fail("views.push", error="expired_trigger_id")
    view = await open_modal(approvals_world)

    await approvals_world.dispatch(click(view, "edit", "d0000001"))

    assert "couldn't open the editor" in json.dumps(updated_config(approvals_world))


async def test_with_many_schedules_the_modal_stays_within_slacks_block_limit(approvals_world: ApprovalsWorld) -> None:
    for i in range(60):
        await add_schedule(approvals_world, f"d{i:07d}")

    view = await open_modal(approvals_world)  # the fake Slack refuses a view over 100 blocks, as Slack does

    listed = [b for b in view["blocks"] if b.get("block_id", "").startswith("schedule-info:")]
    assert len(view["blocks"]) <= 100 and 20 <= len(listed) < 60
    assert f"…and {60 - len(listed)} more" in json.dumps(view, ensure_ascii=False)


async def test_text_commands_still_manage_the_same_schedules(approvals_world: ApprovalsWorld) -> None:
    from bot.slack.schedule_commands import handle_digest_command

    await add_schedule(approvals_world, "d0000001")
    reply = await handle_digest_command(
        approvals_world.deps.slack, approvals_world.deps, user_id=ADMIN, channel_id=CHANNEL, text="pause d0000001"
    )

    assert reply.startswith("Paused `d0000001`")
    assert list(buttons(await open_modal(approvals_world), "d0000001")) == ["Edit", "Resume", "Delete"]
