"""Admin overrides of the model and the loop limits (stored as the config modal stores them) apply from the next
request of the same running Agent: run_turn, resume and run_tool read them when they start; no restart."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.messages import agent as agent_text
from bot.settings import Settings
from bot.storage.db import Database
from tests.agent_harness import (
    ALICE,
    THREAD,
    Harness,
    ScriptedAuthorizer,
    make_harness,
)
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply


async def admin_sets(h: Harness, **settings: Any) -> None:
    """What a saved config modal writes: `settings.<name>` values, under the current version."""
    version = await h.store.config_version()
    values = {f"settings.{name}": value for name, value in settings.items()}
    await h.store.apply_config(actor_id="U0ADMIN", expected_version=version, values=values)


async def test_an_admins_model_change_reaches_the_model_api_on_the_next_request_without_a_restart(harness: Harness) -> None:
    h = harness
    h.server.queue(text_reply("First."), text_reply("Second."))
    await h.ask("Before the change")

    await admin_sets(h, chatops_model="claude-haiku-4-5")
    await h.ask("After the change")

    assert [body["model"] for body in h.server.bodies()] == ["claude-sonnet-4-6", "claude-haiku-4-5"]
    assert h.deps.settings.chatops_model == "claude-sonnet-4-6"  # the start-up settings are not mutated


async def test_an_admins_step_limit_applies_to_the_next_turn(harness: Harness) -> None:
    h = harness
    await admin_sets(h, chatops_max_steps=1)
    h.server.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("never asked for"))

    result = await h.ask()

    assert (result.status, result.steps, result.text) == ("capped", 1, agent_text.step_cap_reached(1))
    assert len(h.server.bodies()) == 1


async def test_an_admins_tool_call_limit_applies_to_the_next_turn(harness: Harness) -> None:
    h = harness
    await admin_sets(h, chatops_max_tool_calls=1)
    calls = [tool_use("get_ticket", {"key": "OPS-1"}, id="t1"), tool_use("get_ticket", {"key": "OPS-2"}, id="t2")]
    h.server.queue(tool_use_reply(calls), text_reply("One of two."))

    result = await h.ask()

    assert [(t.tool_use_id, t.outcome) for t in result.trace] == [("t1", "ok"), ("t2", "capped")]
    assert [args["key"] for _, args in h.rec.calls] == ["OPS-1"]


async def test_a_change_made_while_a_write_waits_applies_when_it_is_resumed(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock
) -> None:
    h = await make_harness(settings, database, server, clock, authz=ScriptedAuthorizer({"add_comment": "confirm"}))
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Deployed"})]), text_reply("Commented."))
    paused = await h.ask("Comment Deployed on OPS-1")
    assert paused.pending is not None

    await admin_sets(h, chatops_model="claude-haiku-4-5")
    result = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")

    assert result.status == "answered"
    assert [body["model"] for body in server.bodies()] == ["claude-sonnet-4-6", "claude-haiku-4-5"]


async def test_the_slash_command_path_and_its_tools_get_the_current_limits(harness: Harness) -> None:
    h = harness
    await admin_sets(h, chatops_max_result_chars=600, chatops_tool_timeout_seconds=7)

    result = await h.agent.run_tool(actor=ALICE, thread=THREAD, tool_name="big_read", arguments={"key": "OPS-1"})
    assert result.status == "answered" and len(result.text) == 600
    await h.agent.run_tool(actor=ALICE, thread=THREAD, tool_name="get_ticket", arguments={"key": "OPS-1"})

    seen = h.rec.contexts[-1].deps.settings  # what a tool reads its limits from
    assert (seen.chatops_max_result_chars, seen.chatops_tool_timeout_seconds) == (600, 7)


async def test_a_stored_override_that_does_not_validate_leaves_the_start_up_settings_in_force(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await admin_sets(h, chatops_max_steps=-3)  # only validated values are ever written; this one was not
    h.server.queue(text_reply("Still answering."))

    with caplog.at_level(logging.ERROR, logger="chatops.agent"):
        result = await h.ask()

    assert (result.status, result.text) == ("answered", "Still answering.")
    assert h.server.bodies()[0]["model"] == "claude-sonnet-4-6"
    assert any("could not read the live settings" in r.getMessage() for r in caplog.records)


async def test_a_new_approval_timeout_applies_to_new_requests_and_an_expiry_states_the_requests_own(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock
) -> None:
    h = await make_harness(settings, database, server, clock, authz=ScriptedAuthorizer({"add_comment": "confirm"}))
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "x"}, id="t_w")]), text_reply("It expired."))
    waiting = await h.ask()
    assert waiting.pending is not None

    await admin_sets(h, chatops_approval_timeout_minutes=5)
    clock.advance(61 * 60)
    await h.agent.expire(approval_id=waiting.pending.approval_id)
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-2", "body": "y"})]))
    later = await h.ask("Comment y on OPS-2")

    told = server.bodies()[1]["messages"][-1]["content"][0]
    assert told["tool_use_id"] == "t_w" and "expired after 60 minutes" in told["content"]
    assert later.pending is not None
    row = await h.store.get_approval(later.pending.approval_id)
    assert row is not None and (row.expires_at - row.created_at).total_seconds() == 5 * 60
