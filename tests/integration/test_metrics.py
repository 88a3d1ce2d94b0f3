"""GET /metrics: Prometheus names, labels and increments on each path, driven through the real app (Bolt, Agent,
AnthropicLLM, AsyncWebClient, the jira package) against the fake services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from bot.slack.server import build_health_app
from bot.storage.db import Database
from bot.storage.migrations import migrate
from integrations.tickets.base import NewTicket, TicketQuery
from integrations.tickets.jira import JiraTickets
from integrations.tickets.jira_client import JiraClient
from tests.approvals_world import MAYA, ApprovalsWorld, close_world, make_world, seed_tickets
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, bad_request, text_reply, tool_use, tool_use_reply
from tests.fakes.jira_harness import RecordingSleep
from tests.fakes.jira_server import JiraServer
from tests.fakes.slack_payloads import mention
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)

USAGE = {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 300, "cache_creation_input_tokens": 50}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(bot: SlackBot) -> str:
    async with bot.session.get(f"{bot.url}/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        return await resp.text()


async def mention_and_wait(bot: SlackBot, text: str) -> None:
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} {text}")
    assert await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} {text}", ts=asked)) == 200
    await bot.settle()


async def test_metrics_are_served_in_prometheus_text_format_with_every_family(sqlite_bot: SlackBot) -> None:
    text = await scrape(sqlite_bot)

    names = {family.name for family in text_string_to_metric_families(text)}
    assert {
        "chatops_turns", "chatops_turn_duration_seconds", "chatops_turns_in_flight", "chatops_tool_call_duration_seconds",
        "chatops_tool_denials", "chatops_approvals", "chatops_model_call_duration_seconds", "chatops_model_tokens",
        "chatops_model_cache_hit_ratio", "chatops_slack_retries", "chatops_slack_rate_limited", "chatops_jira_retries",
        "chatops_jira_rate_limited", "chatops_first_feedback_seconds",
    } <= names  # fmt: skip
    assert value(text, "chatops_model_tokens_total", kind="input") == 0


async def test_an_answered_mention_counts_the_turn_its_tool_call_tokens_and_first_feedback(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    bot.model.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})], usage=USAGE),
        text_reply("OPS-1 is open.", usage=USAGE),
    )
    await mention_and_wait(bot, "is OPS-1 open?")

    text = await scrape(bot)
    assert value(text, "chatops_turns_total", outcome="answered") == 1
    assert value(text, "chatops_turn_duration_seconds_count", outcome="answered") == 1
    assert value(text, "chatops_tool_call_duration_seconds_count", tool="get_ticket", outcome="ok") == 1
    assert value(text, "chatops_model_call_duration_seconds_count", outcome="tool_use") == 1
    assert value(text, "chatops_model_call_duration_seconds_count", outcome="end_turn") == 1
    assert value(text, "chatops_model_tokens_total", kind="input") == 200
    assert value(text, "chatops_model_tokens_total", kind="output") == 40
    assert value(text, "chatops_model_tokens_total", kind="cache_read") == 600
    assert value(text, "chatops_model_tokens_total", kind="cache_write") == 100
    assert value(text, "chatops_model_cache_hit_ratio") == pytest.approx(600 / 900)
    assert value(text, "chatops_first_feedback_seconds_count") == 1
    assert value(text, "chatops_turns_in_flight") == 0


async def test_a_failed_model_call_counts_a_failed_turn_and_a_model_error(sqlite_bot: SlackBot) -> None:
    sqlite_bot.model.queue(bad_request())
    await mention_and_wait(sqlite_bot, "hello?")

    text = await scrape(sqlite_bot)
    assert value(text, "chatops_turns_total", outcome="failed") == 1
    assert value(text, "chatops_model_call_duration_seconds_count", outcome="error") == 1
    assert value(text, "chatops_turns_total", outcome="answered") == 0


async def test_a_tool_name_the_model_made_up_is_labelled_unknown(sqlite_bot: SlackBot) -> None:
    sqlite_bot.model.queue(tool_use_reply([tool_use("drop_all_tables", {})]), text_reply("I cannot do that."))
    await mention_and_wait(sqlite_bot, "drop everything")

    text = await scrape(sqlite_bot)
    assert "drop_all_tables" not in text
    assert value(text, "chatops_tool_call_duration_seconds_count", tool="unknown", outcome="invalid") == 1


async def test_slack_429s_and_their_retries_are_counted_by_method(sqlite_bot: SlackBot) -> None:
    sqlite_bot.slack.fail("assistant.threads.setStatus", status=429, retry_after=0)
    sqlite_bot.model.queue(text_reply("Hi."))
    await mention_and_wait(sqlite_bot, "hi")

    text = await scrape(sqlite_bot)
    method = "assistant.threads.setStatus"
    assert value(text, "chatops_slack_rate_limited_total", method=method) == 1
    assert value(text, "chatops_slack_retries_total", method=method, reason="rate_limited") == 1
    assert value(text, "chatops_slack_retries_total", method="chat.startStream", reason="rate_limited") == 0


@pytest.fixture
async def approvals_world(sqlite_database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock) -> AsyncIterator[ApprovalsWorld]:
    await migrate(sqlite_database)
    await seed_tickets(sqlite_database, clock)
    w = await make_world(sqlite_database, slack, model, clock)
    yield w
    await close_world(w)


async def test_a_denied_call_is_counted_as_a_denial_of_its_tool(approvals_world: ApprovalsWorld) -> None:
    approvals_world.model.queue(tool_use_reply([tool_use("add_comment", {"key": "SEC-1", "body": "Done"})]), text_reply("Not allowed."))
    await approvals_world.ask(MAYA, "Comment on SEC-1")

    text = approvals_world.deps.metrics.exposition().decode()
    assert value(text, "chatops_tool_denials_total", tool="add_comment") == 1
    assert value(text, "chatops_tool_call_duration_seconds_count", tool="add_comment", outcome="denied") == 1


@pytest.mark.parametrize("choice", ["approve", "cancel"])
async def test_a_decided_confirmation_is_counted_by_tool_and_decision(approvals_world: ApprovalsWorld, choice: str) -> None:
    approvals_world.model.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Deployed"})]))
    result, _ = await approvals_world.ask(MAYA, "Tell OPS-1 it is deployed")
    assert result.pending is not None
    approvals_world.model.queue(text_reply("Done." if choice == "approve" else "Cancelled."))

    await approvals_world.press(result.pending.approval_id, choice, user=MAYA)

    text = approvals_world.deps.metrics.exposition().decode()
    decision = "approved" if choice == "approve" else "cancelled"
    assert value(text, "chatops_approvals_total", tool="add_comment", decision=decision) == 1
    assert value(text, "chatops_turns_total", outcome="paused") == 1


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    with JiraServer() as server:
        yield server


@pytest.fixture
async def jira_backend_with_metrics(jira: JiraServer) -> AsyncIterator[tuple[JiraTickets, Metrics]]:
    metrics = Metrics()
    credentials = {"email": jira.email, "api_token": jira.api_token} if jira.state.cloud else {"pat": jira.pat}
    client = JiraClient(url=jira.url, sleep=RecordingSleep(), on_failure=metrics.jira_failure, **credentials)
    backend = JiraTickets(client=client, clock=jira.now)
    await client.connect()
    yield backend, metrics
    await backend.aclose()


async def test_jira_429s_and_read_retries_are_counted(
    jira: JiraServer, jira_backend_with_metrics: tuple[JiraTickets, Metrics]
) -> None:
    backend, metrics = jira_backend_with_metrics
    jira.fault("*", r"/search", status=429, retry_after="0")
    jira.fault("POST", r"/rest/api/2/issue$", status=503)

    await backend.search_tickets(TicketQuery(project="OPS"))
    with pytest.raises(Exception):  # noqa: B017 - which error is mapped is test_jira_faults' business
        await backend.create_ticket(NewTicket(project="OPS", summary="x"), reporter=None, via="test")

    text = metrics.exposition().decode()
    assert value(text, "chatops_jira_rate_limited_total") == 1
    assert value(text, "chatops_jira_retries_total", reason="rate_limited") == 1
    assert value(text, "chatops_jira_retries_total", reason="server_error") == 0  # a write is never retried


async def test_socket_modes_local_server_answers_metrics_beside_healthz(sqlite_bot: SlackBot) -> None:
    runner = web.AppRunner(build_health_app(sqlite_bot.deps))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200 and "chatops_turns_in_flight" in await resp.text()
    finally:
        await runner.cleanup()
