"""Driving the schedule editor modal as Slack does, for the schedule tests: the editor's inputs, the
`view_submission` Slack posts when it is saved, and delivering it to a Bolt app."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack.schedule_editor import CALLBACK_ID
from tests.fakes.slack_server import FakeSlack
from tests.schedules_world import CHANNEL


def editor_submission(
    user: str, values: dict[str, dict[str, Any]], *, schedule_id: str | None = None
) -> dict[str, Any]:
    """The view_submission Slack posts when `user` saves the editor with these input values."""
    state = {block: {"value": element} for block, element in values.items()}
    return {
        "type": "view_submission",
        "team": {"id": FakeSlack.TEAM_ID, "domain": "acme"},
        "user": {"id": user, "team_id": FakeSlack.TEAM_ID},
        "api_app_id": FakeSlack.APP_ID,
        "trigger_id": "123.456.abc",
        "view": {
            "id": "V0EDITOR",
            "type": "modal",
            "callback_id": CALLBACK_ID,
            "private_metadata": json.dumps({"schedule_id": schedule_id, "origin": CHANNEL}),
            "state": {"values": state},
        },
    }


def editor_form(**overrides: Any) -> dict[str, dict[str, Any]]:
    """The editor's inputs filled for a weekday 09:00 Berlin digest of OPS in #ops, with `overrides` by block id."""
    form: dict[str, dict[str, Any]] = {
        "project": {"type": "plain_text_input", "value": "OPS"},
        "channel": {"type": "conversations_select", "selected_conversation": CHANNEL},
        "every": {"type": "static_select", "selected_option": {"value": "weekdays"}},
        "time": {"type": "timepicker", "selected_time": "09:00"},
        "day": {"type": "static_select", "selected_option": None},
        "cron": {"type": "plain_text_input", "value": None},
        "timezone": {"type": "plain_text_input", "value": "Europe/Berlin"},
        "name": {"type": "plain_text_input", "value": "Ops morning"},
        "stale_days": {"type": "number_input", "value": "3"},
    }
    form.update(overrides)
    return form


async def submit_editor(app: AsyncApp, payload: dict[str, Any]) -> Any:
    """Deliver the submission as Socket Mode does; returns Bolt's response."""
    return await app.async_dispatch(AsyncBoltRequest(body=payload, mode="socket_mode"))
