"""Driving `/chatops config` as Slack does, for the admin-modal tests: open the modal with the slash command, build
the `view_submission` Slack posts when Save is pressed (every input's value, with changes), and press Save."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.response import BoltResponse

from tests.approvals_world import ADMIN, CHANNEL, TEAM, ApprovalsWorld
from tests.fakes.slack_payloads import interaction, slash_command

CONFIG_VIEW_ID = "V0CONFIG"
"""The id Slack gives the open config modal."""


async def open_modal(world: ApprovalsWorld, user: str = ADMIN) -> dict[str, Any]:
    """Run /chatops config as `user`; return the view Slack was asked to open."""
    before = len(world.slack.calls("views.open"))
    command = slash_command("/chatops", "config", user=user, channel=CHANNEL, response_url=world.slack.response_url())
    await world.dispatch(command)
    await world.slack.await_call("views.open", count=before + 1)
    assert await world.surface.tasks.join(timeout=10)  # the command has finished with Slack's answer
    call = world.slack.calls("views.open")[-1]
    assert call.args["trigger_id"] == command["trigger_id"]
    return dict(call.args["view"])


def form_state(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The state.values Slack sends for this view: every input's initial value, with `changes` by block id."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        kind = element["type"]
        change = changes.get(block_id.replace(":", "__"), changes.get(block_id))
        if kind in ("plain_text_input", "number_input"):
            state = {"type": kind, "value": change if change is not None else element.get("initial_value")}
        elif kind == "static_select":
            option = {"text": {"type": "plain_text", "text": change}, "value": change} if change else element.get("initial_option")
            state = {"type": kind, "selected_option": option}
        elif kind == "multi_static_select":
            chosen = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in change] if change is not None else element.get("initial_options", [])
            state = {"type": kind, "selected_options": chosen}
        else:
            state = {"type": kind, "selected_users": change if change is not None else element.get("initial_users", [])}
        values[block_id] = {"value": state}
    return values


def submission(view: dict[str, Any], *, user: str, values: dict[str, Any]) -> dict[str, Any]:
    """The view_submission payload Slack posts when `user` presses Save."""
    return {
        **interaction("view_submission", user=user, trigger="1", team_id=TEAM),
        "view": {**view, "id": CONFIG_VIEW_ID, "team_id": TEAM, "state": {"values": values}, "hash": "1.abc"},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


async def submit(world: ApprovalsWorld, view: dict[str, Any], *, user: str = ADMIN, **changes: Any) -> dict[str, Any]:
    """Press Save with `changes` (block id → value; ':' may be written '__'); returns the ack body ({} = closed)."""
    response: BoltResponse = await world.dispatch(submission(view, user=user, values=form_state(view, **changes)))
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The view's blocks that have an id, by id."""
    return {b["block_id"]: b for b in view["blocks"] if b.get("block_id")}


def updated_config(world: ApprovalsWorld) -> dict[str, Any]:
    """The view the config modal was last updated to."""
    call = world.slack.calls("views.update")[-1]
    assert call.args["view_id"] == CONFIG_VIEW_ID
    return dict(call.args["view"])
