"""Enforcement through the real loop: a denied call reaches neither the database nor Jira, the model hears only
"not permitted", channels never show private projects, and tools a role may never use are not offered."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlmodel import col, select

from bot.storage.db import Database
from bot.storage.migrations import migrate
from bot.storage.tables import AuditRow
from tests.approvals_world import ADMIN, DM, MAYA, VIC, ApprovalsWorld, close_world, make_world
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_server import JiraServer
from tests.fakes.slack_server import FakeSlack


def tool_results(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        block["tool_use_id"]: block
        for message in body["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    }


async def audit(approvals_world: ApprovalsWorld, action: str) -> list[AuditRow]:
    def rows(session: Any) -> list[AuditRow]:
        return list(session.exec(select(AuditRow).where(col(AuditRow.action) == action)))

    return await approvals_world.deps.db.run(rows)


async def test_a_denied_write_never_reaches_the_ticket_store_and_is_audited(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(
        tool_use_reply([tool_use("add_comment", {"key": "SEC-1", "body": "Keys rotated"}, id="toolu_sec")]),
        text_reply("I am not allowed to do that."),
    )
    result, _ = await approvals_world.ask(MAYA, "Comment on SEC-1", channel=DM, channel_kind="im")

    assert result.status == "answered"
    assert (await approvals_world.deps.tickets.list_comments("SEC-1")).comments == ()
    denied = tool_results(approvals_world.model.bodies()[-1])["toolu_sec"]
    assert denied["is_error"] is True and "Not permitted" in str(denied["content"])
    assert "Security" not in str(denied["content"])  # nothing about what exists
    [entry] = result.trace
    assert (entry.decision, entry.decision_reason) == ("deny", "SEC-1 is not available to you here")
    [row] = await audit(approvals_world, "denied")
    assert (row.user_id, row.tool, row.status) == (MAYA, "add_comment", "denied")


async def test_an_unknown_ticket_and_a_forbidden_one_look_the_same_to_the_model(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(
        tool_use_reply(
            [
                tool_use("get_ticket", {"key": "SEC-1"}, id="toolu_forbidden"),
                tool_use("get_ticket", {"key": "SEC-77"}, id="toolu_missing"),
            ]
        ),
        text_reply("Neither is available."),
    )
    await approvals_world.ask(MAYA, "Show SEC-1 and SEC-77", channel=DM, channel_kind="im")

    results = tool_results(approvals_world.model.bodies()[-1])
    assert results["toolu_forbidden"]["content"] == results["toolu_missing"]["content"]


async def test_a_private_ticket_is_never_shown_in_a_public_channel_even_to_an_admin(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "SEC-1"}, id="toolu_pub")]), text_reply("Not here."))
    await approvals_world.ask(ADMIN, "Show SEC-1")
    in_channel = tool_results(approvals_world.model.bodies()[-1])["toolu_pub"]
    assert in_channel["is_error"] is True and "HSM" not in str(in_channel["content"])

    approvals_world.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "SEC-1"}, id="toolu_dm")]), text_reply("Here."))
    await approvals_world.ask(ADMIN, "Show SEC-1", channel="D0ADMIN", channel_kind="im")
    in_dm = tool_results(approvals_world.model.bodies()[-1])["toolu_dm"]
    assert not in_dm.get("is_error") and "Rotate the HSM keys" in str(in_dm["content"])


async def test_a_search_in_a_public_channel_only_returns_projects_that_channel_may_show(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(tool_use_reply([tool_use("search_tickets", {"text": "Rotate"}, id="toolu_s")]), text_reply("Found."))
    await approvals_world.ask(ADMIN, "Find rotation tickets")
    found = str(tool_results(approvals_world.model.bodies()[-1])["toolu_s"]["content"])
    assert "OPS-1" in found and "SEC-1" not in found


async def test_tools_a_viewer_may_never_use_are_not_offered_and_a_call_to_one_never_runs(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(
        tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "hi"}, id="toolu_v")]),
        text_reply("I can't."),
    )
    await approvals_world.ask(VIC, "Comment on OPS-1")

    offered = {t["name"] for t in approvals_world.model.bodies()[0]["tools"]}
    assert "add_comment" not in offered and "get_ticket" in offered
    refused = tool_results(approvals_world.model.bodies()[-1])["toolu_v"]
    assert refused["is_error"] is True
    assert (await approvals_world.deps.tickets.list_comments("OPS-1")).comments == ()


# ---------------------------------------------------------------- on Jira: the fake's request log is the proof


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    with JiraServer() as server:
        server.add_issue("SEC", "Rotate the HSM keys")
        yield server


@pytest.fixture
async def jira_world(
    database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock, jira: JiraServer  # noqa: F811
) -> AsyncIterator[ApprovalsWorld]:
    await migrate(database)
    backend = jira_backend(jira)
    w = await make_world(database, slack, model, clock, tickets=backend)
    version = await w.store.config_version()
    # Jira has no "private" flag the bot can read: the policy marks SEC private.
    await w.store.apply_config(
        actor_id=ADMIN, expected_version=version, values={"policy.private_projects": ["SEC"]}, assignments={VIC: "viewer"}
    )
    yield w
    await close_world(w)
    backend.client.close()


def jira_requests(jira: JiraServer, method: str, fragment: str) -> list[str]:
    return [r.path for r in jira.requests if r.method == method and fragment in r.path]


async def test_a_denied_write_never_reaches_jira(jira_world: ApprovalsWorld, jira: JiraServer) -> None:
    jira_world.model.queue(
        tool_use_reply([tool_use("add_comment", {"key": "SEC-1", "body": "Keys rotated"}, id="toolu_j")]),
        text_reply("Not allowed."),
    )
    await jira_world.ask(MAYA, "Comment on SEC-1", channel=DM, channel_kind="im")

    assert jira_requests(jira, "POST", "comment") == []
    assert jira_requests(jira, "GET", "/issue/SEC-1") != []  # looked up only to learn its real project
    assert tool_results(jira_world.model.bodies()[-1])["toolu_j"]["is_error"] is True


async def test_a_tool_the_role_may_not_use_causes_no_jira_request_at_all(jira_world: ApprovalsWorld, jira: JiraServer) -> None:
    jira_world.model.queue(
        tool_use_reply([tool_use("transition_ticket", {"key": "OPS-2", "status": "Done"}, id="toolu_t")]),
        text_reply("I can't."),
    )
    before = len(jira.requests)
    await jira_world.ask(VIC, "Close OPS-2")

    assert [r.path for r in jira.requests[before:] if "OPS-2" in r.path] == []
