"""The audit row of a write through the loop: what was asked (redacted arguments), by whom, in which conversation,
turn and tool call, and how it ended; a create is filed under the ticket it made. Real create_ticket tool, real
local ticket store, real database."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.tables import AuditRow
from bot.tools.tickets import create_ticket
from integrations.tickets.local import add_project
from tests.agent_harness import Harness, make_harness
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply

NEW_TICKET = {"project": "OPS", "summary": "VPN drops every hour", "labels": ["vpn"]}


@pytest.fixture(name="harness")
async def harness_with_create(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> Harness:
    h = await make_harness(settings, database, server, clock, extra_tools=(create_ticket,))
    await database.run(lambda s: add_project(s, key="OPS", name="Operations", at=clock()))
    return h


async def the_write(harness: Harness, turn_id: str, tool_use_id: str) -> AuditRow:
    row = await harness.store.audit_for_key(f"{turn_id}:{tool_use_id}")
    assert row is not None
    return row


async def test_a_created_ticket_is_audited_under_its_new_key_with_the_arguments_and_who_asked(harness: Harness) -> None:
    harness.server.queue(tool_use_reply([tool_use("create_ticket", NEW_TICKET, id="toolu_new")]), text_reply("Created OPS-1."))
    result = await harness.ask("File a ticket: VPN drops every hour")
    row = await the_write(harness, result.turn_id, "toolu_new")
    assert (row.action, row.tool, row.status, row.target) == ("write", "create_ticket", "done", "OPS-1")
    assert (row.user_id, row.conversation_id, row.tool_use_id) == ("U0ALICE", result.conversation_id, "toolu_new")
    assert row.details is not None
    assert row.details["arguments"] == NEW_TICKET
    assert (row.details["created_key"], row.details["project"]) == ("OPS-1", "OPS")
    assert (row.details["turn_id"], row.details["outcome"]) == (result.turn_id, "ok")
    assert '"key":"OPS-1"' in row.details["result"]
    assert (await harness.deps.tickets.get_ticket("OPS-1")).summary == "VPN drops every hour"


async def test_a_failed_write_keeps_its_arguments_next_to_the_error(harness: Harness) -> None:
    asked = {**NEW_TICKET, "project": "SEC"}  # not visible in this channel: the tool refuses it
    harness.server.queue(tool_use_reply([tool_use("create_ticket", asked, id="toolu_bad")]), text_reply("I could not."))
    result = await harness.ask("File it in SEC")
    row = await the_write(harness, result.turn_id, "toolu_bad")
    assert (row.status, row.target, row.user_id, row.tool_use_id) == ("error", "SEC", "U0ALICE", "toolu_bad")
    assert row.details is not None
    assert row.details["arguments"] == asked and row.details["turn_id"] == result.turn_id
    assert row.details["outcome"] == "error" and "SEC" in row.details["error"]
    assert "created_key" not in row.details and "result" not in row.details


async def test_a_write_to_an_existing_ticket_keeps_it_as_target_and_keeps_its_arguments(harness: Harness) -> None:
    comment = {"key": "OPS-3", "body": "Deployed"}
    harness.server.queue(tool_use_reply([tool_use("add_comment", comment, id="toolu_note")]), text_reply("Done."))
    result = await harness.ask()
    row = await the_write(harness, result.turn_id, "toolu_note")
    assert (row.status, row.target) == ("done", "OPS-3")
    assert row.details is not None and row.details["arguments"] == comment and "created_key" not in row.details
