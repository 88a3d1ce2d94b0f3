"""An admin's change of the model and the loop limits in `/chatops config` reaches the running bot's next request:
the real Bolt app saves it, the same Agent and the same model client then send the new model to the Messages API."""

from __future__ import annotations

from bot.messages import agent as agent_text
from tests.admin_modal_driver import open_modal, submit
from tests.approvals_world import ADMIN, MAYA, ApprovalsWorld
from tests.fakes.anthropic_server import text_reply, tool_use, tool_use_reply


async def test_a_model_saved_in_the_config_modal_is_used_from_the_next_request_without_a_restart(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(text_reply("Before."), text_reply("After."))
    await approvals_world.ask(MAYA, "What is OPS-1?")

    assert await submit(approvals_world, await open_modal(approvals_world), model="claude-haiku-4-5") == {}
    result, _ = await approvals_world.ask(MAYA, "And now?")

    assert result.text == "After."
    assert [body["model"] for body in approvals_world.model.bodies()] == ["claude-sonnet-4-6", "claude-haiku-4-5"]


async def test_a_step_limit_saved_in_the_config_modal_caps_the_next_turn(approvals_world: ApprovalsWorld) -> None:
    assert await submit(approvals_world, await open_modal(approvals_world, ADMIN), limit__chatops_max_steps="1") == {}
    approvals_world.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("never asked for"))

    result, _ = await approvals_world.ask(MAYA, "What is OPS-1?")

    assert (result.status, result.text) == ("capped", agent_text.step_cap_reached(1))
    assert len(approvals_world.model.bodies()) == 1
