"""A setting only an admin can fix (the model API key, the model name, Jira's credential) stops the turn with an
answer saying so; the admins get one DM per problem per hour, whatever the number of askers and processes; and
`chatops doctor` uses the same words. Real parts: Bolt world, AnthropicLLM and the `jira` package over HTTP against
the fakes, which answer with the recorded error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.agent.loop import ThreadRef
from bot.storage.db import Database
from bot.tools.base import Actor
from bot.wiring import build_deps
from integrations.tickets.jira import JiraTickets
from tests.approvals_world import ADMIN, CHANNEL, LEO, MAYA, TEAM, ApprovalsWorld, close_world, make_world
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_server import JiraServer
from tests.fakes.slack_server import FakeSlack

KEY_REFUSED = "the model API key is invalid or lacks access: check ANTHROPIC_API_KEY"
JIRA_REFUSED = "Jira rejected the bot's credentials: check JIRA_EMAIL and JIRA_API_TOKEN"


def admin_dms(slack: FakeSlack, admin: str = ADMIN) -> list[str]:
    return [c.args.get("text", "") for c in slack.calls("chat.postMessage") if c.args.get("channel") == admin]


async def test_a_refused_model_key_tells_the_asker_and_dms_each_admin_once(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.api_key = "sk-ant-the-real-one"  # the bot's key is not it: the API answers 401

    first, _ = await approvals_world.ask(MAYA, "What is blocked in OPS?")
    second, _ = await approvals_world.ask(LEO, "And in SEC?")

    for result in (first, second):
        assert result.status == "failed"
        assert result.text == f"I can't answer right now: the assistant is misconfigured ({KEY_REFUSED}). The admins have been told."
    [dm] = admin_dms(approvals_world.slack)
    assert KEY_REFUSED in dm and "401 authentication_error: invalid x-api-key" in dm
    assert f"<@{MAYA}>" in dm and "chatops doctor" in dm
    assert len(approvals_world.model.bodies()) == 2, "a refused key is not retried"


async def test_the_same_problem_is_sent_again_after_an_hour_and_a_new_problem_at_once(approvals_world: ApprovalsWorld, clock: FixedClock) -> None:
    approvals_world.model.api_key = "sk-ant-the-real-one"
    await approvals_world.ask(MAYA, "What is blocked in OPS?")
    clock.advance(59 * 60)
    await approvals_world.ask(MAYA, "Still nothing?")
    assert len(admin_dms(approvals_world.slack)) == 1

    clock.advance(2 * 60)
    await approvals_world.ask(MAYA, "Now?")
    assert len(admin_dms(approvals_world.slack)) == 2

    approvals_world.model.api_key, approvals_world.model.models = None, {"claude-opus-4-6"}
    result, _ = await approvals_world.ask(MAYA, "And with the key fixed?")
    assert "the model API does not know the model 'claude-sonnet-4-6': check CHATOPS_MODEL" in result.text
    assert len(admin_dms(approvals_world.slack)) == 3


async def test_role_admins_are_told_too(approvals_world: ApprovalsWorld) -> None:
    version = await approvals_world.store.config_version()
    await approvals_world.store.apply_config(actor_id=ADMIN, expected_version=version, assignments={LEO: "admin"})
    approvals_world.model.api_key = "sk-ant-the-real-one"

    await approvals_world.ask(MAYA, "What is blocked in OPS?")

    assert len(admin_dms(approvals_world.slack, ADMIN)) == len(admin_dms(approvals_world.slack, LEO)) == 1


async def test_two_processes_seeing_the_problem_at_once_send_one_dm(
    approvals_world: ApprovalsWorld, database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock
) -> None:
    other = await make_world(database, slack, model, clock)
    model.api_key = "sk-ant-the-real-one"
    try:
        import asyncio

        await asyncio.gather(approvals_world.ask(MAYA, "OPS?"), other.ask(LEO, "SEC?"), approvals_world.ask(LEO, "WEB?"))
    finally:
        await close_world(other)

    assert len(admin_dms(slack)) == 1


# ---------------------------------------------------------------- Jira refusing the bot's credential


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    with JiraServer(projects={"OPS": "Operations", "SEC": "Security"}) as server:
        yield server


@pytest.fixture
async def jira_world(database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock, jira: JiraServer) -> AsyncIterator[ApprovalsWorld]:
    from bot.storage.migrations import migrate

    await migrate(database)
    backend: JiraTickets = jira_backend(jira)
    w = await make_world(database, slack, model, clock, tickets=backend)
    yield w
    await close_world(w)
    await backend.aclose()


@pytest.mark.parametrize("refusal", ["bad token (Cloud: 404 + X-Seraph-LoginReason)", "CAPTCHA (403 AUTHENTICATION_DENIED)"])
async def test_jira_refusing_the_bot_is_neither_not_found_nor_not_permitted(jira_world: ApprovalsWorld, jira: JiraServer, refusal: str) -> None:
    if refusal.startswith("CAPTCHA"):
        jira.captcha = True
    else:
        jira.api_token = "rotated-by-the-jira-admin"
    jira_world.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="toolu_get")]))

    result, _ = await jira_world.ask(ADMIN, "What is OPS-1 about?")

    assert result.status == "failed"
    assert result.text == f"I can't answer right now: the assistant is misconfigured ({JIRA_REFUSED}). The admins have been told."
    assert "Not permitted" not in result.text and "not found" not in result.text.lower()
    assert len(jira_world.model.bodies()) == 1, "the turn stops: the model is not asked to improvise"
    assert [t.outcome for t in result.trace] == ["error"]
    [dm] = admin_dms(jira_world.slack)
    assert JIRA_REFUSED in dm


async def test_jira_refusing_the_bot_account_a_permission_is_an_operators_fix_not_you_may_not(
    jira_world: ApprovalsWorld, jira: JiraServer
) -> None:
    key = jira.add_issue("SEC", "Pen test findings")
    jira.forbid_project("SEC")  # the bot's Jira account may not browse SEC: Data Center answers 403
    jira_world.model.queue(tool_use_reply([tool_use("get_ticket", {"key": key}, id="toolu_get")]))

    result, _ = await jira_world.ask(ADMIN, f"What is {key} about?")

    missing = "the bot's Jira account lacks permission to read the ticket: check its project permissions in Jira"
    assert result.status == "failed"
    assert result.text == f"I can't answer right now: the assistant is misconfigured ({missing}). The admins have been told."
    assert "Not permitted" not in result.text and "may not" not in result.text
    assert len(jira_world.model.bodies()) == 1, "the turn stops: the model is not asked to improvise"
    [dm] = admin_dms(jira_world.slack)
    assert missing in dm and "HTTP 403" in dm


async def test_the_slash_command_path_says_the_same(jira_world: ApprovalsWorld, jira: JiraServer) -> None:
    jira.api_token = "rotated-by-the-jira-admin"
    actor = Actor(user_id=MAYA, team_id=TEAM, channel_id=CHANNEL, channel_type="public")

    result = await jira_world.agent.run_tool(
        actor=actor, thread=ThreadRef(TEAM, CHANNEL, "1763476400.000100"), tool_name="get_ticket", arguments={"key": "OPS-1"}
    )

    assert result.status == "failed" and JIRA_REFUSED in result.text and "admins have been told" in result.text


async def test_without_slack_the_asker_is_sent_to_chatops_doctor(jira_world: ApprovalsWorld, jira: JiraServer) -> None:
    jira.api_token = "rotated-by-the-jira-admin"
    deps = jira_world.deps
    terminal = await build_deps(  # the terminal (`chatops shell`): no Slack client, nobody to DM
        deps.settings, db=deps.db, tickets=deps.tickets, llm=deps.llm, clock=deps.clock, slack=None
    )
    jira_world.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("never"))
    actor = Actor(user_id=MAYA, team_id=TEAM, channel_id=CHANNEL, channel_type="public")

    result = await terminal.agent.run_turn(actor=actor, thread=ThreadRef(TEAM, CHANNEL, "1763476400.000200"), text="OPS-1?")

    assert result.text == f"I can't answer right now: the assistant is misconfigured ({JIRA_REFUSED}). Ask an admin to run `chatops doctor`."


async def test_an_unknown_summary_model_still_answers_and_names_its_own_setting(
    approvals_world: ApprovalsWorld, database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock
) -> None:
    from bot.tools.summaries import MODEL_THRESHOLD

    for n in range(MODEL_THRESHOLD + 1):
        await approvals_world.deps.tickets.add_comment("OPS-1", f"Update {n}: still rotating", author=None, via="test")
    summarizing = await make_world(database, slack, model, clock, chatops_summary_model="claude-haiku-9")
    model.models = {"claude-sonnet-4-6"}  # the summary model is unknown to the API
    model.queue(tool_use_reply([tool_use("summarize_ticket", {"key": "OPS-1"})]), text_reply("OPS-1: certificates still rotating."))
    try:
        result, _ = await summarizing.ask(MAYA, "Summarize OPS-1")
    finally:
        await close_world(summarizing)

    assert result.status == "answered" and result.text == "OPS-1: certificates still rotating."
    [dm] = admin_dms(slack)
    assert "the model API does not know the model 'claude-haiku-9': check CHATOPS_SUMMARY_MODEL" in dm
