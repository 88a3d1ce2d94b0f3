"""The "MCP servers" section of `/chatops config`, through the real Bolt app: each server with its state, Enable
(approving the tools as listed now), Disable, switching one tool off; admin rights re-checked on every click, every
change audited and applied through the configuration version."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.admin_modal_driver import CONFIG_VIEW_ID, blocks_by_id, open_modal, updated_config
from tests.approvals_world import ADMIN, MAYA, TEAM, ApprovalsWorld, close_world, make_world
from tests.fakes.slack_payloads import interaction
from tests.integration.mcp_harness import fixture_stdio


@pytest.fixture
async def mcp_world(approvals_world: ApprovalsWorld, tmp_path: Path) -> AsyncIterator[ApprovalsWorld]:
    """A bot process on the approvals world's database with the fixture server attached (not enabled yet)."""
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"fx": fixture_stdio()}}))
    attached = await make_world(approvals_world.deps.db, approvals_world.slack, approvals_world.model, approvals_world.clock, mcp_wait=40, chatops_mcp_config=config)
    yield attached
    assert attached.deps.mcp is not None
    await attached.deps.mcp.stop()
    await close_world(attached)


def act(view: dict[str, Any], action_id: str, *, value: str | None = None, option: str | None = None, user: str = ADMIN) -> dict[str, Any]:
    """The block_actions payload of a click (button `value`, or menu `option`) in the open config modal."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "mcp:fx", "action_ts": "1763476400.2"}
    if option is not None:
        action |= {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": option}, "value": option}}
    else:
        action |= {"type": "button", "value": value, "text": {"type": "plain_text", "text": "x"}}
    return {
        **interaction("block_actions", user=user, trigger="2", team_id=TEAM),
        "container": {"type": "view", "view_id": CONFIG_VIEW_ID},
        "view": {**view, "id": CONFIG_VIEW_ID, "team_id": TEAM, "state": {"values": {}}, "hash": "1.abc", "root_view_id": CONFIG_VIEW_ID},
        "actions": [action],
        "is_enterprise_install": False,
    }


def info(view: dict[str, Any]) -> str:
    return str(blocks_by_id(view)["mcp-info:fx"]["text"]["text"])


async def test_the_modal_lists_each_server_with_its_state_and_enable_approves_the_tools_listed_now(mcp_world: ApprovalsWorld) -> None:
    view = await open_modal(mcp_world)
    assert info(view).startswith("*fx* — not enabled; connected, 12 tools")
    [enable] = blocks_by_id(view)["mcp:fx"]["elements"]
    assert (enable["text"]["text"], enable["action_id"], enable["value"]) == ("Enable", "chatops.mcp.enable", "fx")

    await mcp_world.dispatch(act(view, "chatops.mcp.enable", value="fx"))
    after = updated_config(mcp_world)
    assert "fx: enabled with 12 tools approved as listed now" in json.dumps(after)
    assert info(after).startswith("*fx* — enabled; connected, 12 tools")
    policy = (await mcp_world.deps.live.current()).policy
    hub = mcp_world.deps.mcp
    assert hub is not None
    echo = hub.listed("fx", "echo")
    assert echo is not None and policy.mcp_trust["fx"].tools["echo"].fingerprint == echo.fingerprint
    [row] = [r for r in await mcp_world.store.config_audit() if r.target == "policy.mcp_trust" and r.action == "config_change"]
    assert row.user_id == ADMIN and row.details["after"]["fx"]["enabled"] is True


async def test_one_tool_is_switched_off_from_its_menu(mcp_world: ApprovalsWorld) -> None:
    view = await open_modal(mcp_world)
    await mcp_world.dispatch(act(view, "chatops.mcp.enable", value="fx"))
    enabled = updated_config(mcp_world)
    menu = next(e for e in blocks_by_id(enabled)["mcp:fx"]["elements"] if e["type"] == "static_select")
    assert {"text": {"type": "plain_text", "text": "Switch off echo", "emoji": True}, "value": "fx|echo"} in menu["options"]
    await mcp_world.dispatch(act(enabled, "chatops.mcp.tool", option="fx|echo"))
    assert "switched off: echo" in info(updated_config(mcp_world))
    policy = (await mcp_world.deps.live.current()).policy
    assert policy.mcp_trust["fx"].tools["echo"].enabled is False and policy.mcp_trust["fx"].tools["fail"].enabled is True


async def test_a_click_from_a_non_admin_changes_nothing_and_is_audited(mcp_world: ApprovalsWorld) -> None:
    view = await open_modal(mcp_world)
    await mcp_world.dispatch(act(view, "chatops.mcp.enable", value="fx", user=MAYA))
    assert "Only chatops admins can change MCP servers" in json.dumps(updated_config(mcp_world))
    policy = (await mcp_world.deps.live.current()).policy
    assert "fx" not in policy.mcp_trust
    denial = [r for r in await mcp_world.store.config_audit() if r.action == "config_denied"]
    assert denial and denial[0].user_id == MAYA and denial[0].details["action"] == "mcp.enable"


async def test_admins_get_a_dm_saying_what_changed_and_the_modal_shows_the_tool_withheld(mcp_world: ApprovalsWorld) -> None:
    view = await open_modal(mcp_world)
    await mcp_world.dispatch(act(view, "chatops.mcp.enable", value="fx"))
    hub = mcp_world.deps.mcp
    assert hub is not None
    await hub.servers["fx"].call("mutate", {})  # the server changes shifty's description and announces it
    assert await hub.servers["fx"].wait_for(lambda s: any("generation 2" in t.description for t in s.tools), 30)
    await mcp_world.slack.await_call("chat.postMessage", lambda c: c.args.get("channel") == ADMIN)
    [dm] = [c for c in mcp_world.slack.calls("chat.postMessage") if c.args.get("channel") == ADMIN]
    assert dm.args["text"].startswith("MCP tool shifty on server fx changed (description) since it was approved.")
    view = await open_modal(mcp_world)
    assert "• shifty changed (description): withheld" in info(view)
    await mcp_world.dispatch(act(view, "chatops.mcp.approve", value="fx"))
    assert "changed" not in info(updated_config(mcp_world))
