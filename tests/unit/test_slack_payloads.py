"""The typed accessors listeners read payloads through (bot/slack/payloads.py): what a real payload says comes out
typed, anything of the wrong type reads as absent, and the same model decides whether the middleware ignores it."""

from __future__ import annotations

import json

import pytest

from bot.slack.admin_view import opened_version
from bot.slack.payloads import BlockActions, SlashCommand, ViewFields, ViewPayload, shape_problem
from bot.slack.schedule_editor import EditorMetadata, Parent, draft_from_state

ALICE = "U0ALICE"


def _view(metadata: str = "", **values: dict) -> dict:
    return {"id": "V1", "callback_id": "cb", "private_metadata": metadata, "state": {"values": values}}


def test_a_click_in_a_message_says_who_clicked_where_and_which_button() -> None:
    body = {
        "type": "block_actions", "user": {"id": ALICE, "team_id": "T1"}, "team": {"id": "T1"}, "trigger_id": "1.2",
        "container": {"type": "message", "message_ts": "111.222", "channel_id": "C1", "is_ephemeral": False},
        "actions": [{"action_id": "a", "value": "v", "type": "button"}],
    }  # fmt: skip
    payload = BlockActions.of(body)
    assert payload is not None and shape_problem(body) is None
    assert (payload.user.id, payload.channel_id, payload.message_ts) == (ALICE, "C1", "111.222")
    assert (payload.action.action_id, payload.action.value, payload.view) == ("a", "v", None)


def test_a_click_in_a_modal_carries_the_view_and_a_menu_choice() -> None:
    body = {
        "type": "block_actions", "user": {"id": ALICE}, "view": _view('{"version": 4}'),
        "actions": [{"action_id": "m", "type": "static_select", "selected_option": {"value": "srv|tool", "text": {}}}],
    }  # fmt: skip
    payload = BlockActions.of(body)
    assert payload is not None and payload.view is not None
    assert payload.action.selected_option is not None and payload.action.selected_option.value == "srv|tool"
    assert (payload.channel_id, payload.message_ts, opened_version(payload.view)) == (None, None, 4)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "block_actions", "user": {"id": ALICE}, "actions": []},
        {"type": "block_actions", "user": {"id": 7}, "actions": [{"action_id": "a"}]},
        {"type": "block_actions", "user": {"id": ALICE}, "actions": [{"action_id": "a"}], "container": "C1"},
        {"type": "block_actions", "user": {"id": ALICE}, "actions": [{"action_id": "m", "selected_option": "x"}]},
        {"type": "view_submission", "user": ALICE, "view": _view()},
        {"type": "view_submission", "user": {"id": ALICE}, "view": _view(default_role={"value": "admin"})},
        {"type": "view_submission", "user": {"id": ALICE}, "view": _view(assign={"value": {"selected_users": "U1"}})},
    ],
)
def test_a_field_of_the_wrong_type_is_refused_by_the_same_model_the_listener_reads(body: dict) -> None:
    model = BlockActions if body["type"] == "block_actions" else ViewPayload
    assert model.of(body) is None
    assert shape_problem(body) is not None


def test_an_inputs_state_reads_typed_and_a_missing_input_reads_empty() -> None:
    view = ViewFields.model_validate(_view(
        project={"value": {"type": "plain_text_input", "value": "OPS"}},
        channel={"value": {"type": "conversations_select", "selected_conversation": "C1"}},
        every={"value": {"type": "static_select", "selected_option": {"value": "weekly"}}},
        day={"value": {"type": "static_select", "selected_option": None}},
        time={"value": {"type": "timepicker", "selected_time": "10:30"}},
    ))  # fmt: skip
    draft = draft_from_state(view)
    assert (draft.project, draft.channel, draft.every, draft.day, draft.time, draft.cron) == (
        "OPS", "C1", "weekly", "", "10:30", ""
    )
    assert view.element("nope", "value").selected_users == []


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (json.dumps({"schedule_id": "d1", "origin": "C1", "parent": {"view_id": "V9", "opened_at": 3}}),
         EditorMetadata("d1", "C1", Parent("V9", 3))),
        (json.dumps({"schedule_id": 5, "origin": ["C1"], "parent": {"view_id": "V9", "opened_at": "3"}}),
         EditorMetadata(None, None, Parent("V9", -1))),
        (json.dumps({"parent": {"view_id": 9}}), EditorMetadata()),
        (json.dumps(["not", "an", "object"]), EditorMetadata()),
        ("{oops", EditorMetadata()),
    ],
)  # fmt: skip
def test_the_editors_metadata_reads_what_we_wrote_and_nothing_forged(metadata: str, expected: EditorMetadata) -> None:
    assert EditorMetadata.of(ViewFields.model_validate(_view(metadata))) == expected


@pytest.mark.parametrize(
    ("metadata", "version"),
    [('{"version": 7}', 7), ('{"version": "x"}', -1), ('{"version": Infinity}', -1), ("[1]", -1), ("", -1)],
)
def test_the_config_modal_remembers_its_version_and_a_forged_one_reads_as_none(metadata: str, version: int) -> None:
    assert opened_version(ViewFields.model_validate(_view(metadata))) == version


def test_a_slash_command_reads_typed_and_its_trigger_may_be_missing() -> None:
    fields = {"command": "/chatops", "text": "config", "user_id": ALICE, "channel_id": "C1", "team_id": "T1"}
    command = SlashCommand.of(fields)
    assert command is not None and (command.command, command.text, command.trigger_id) == ("/chatops", "config", None)
    assert SlashCommand.of({**fields, "user_id": None}) is None
