"""A Jira ticket link shared while Jira refuses the bot's credential: nothing is unfurled (nothing to show), and,
although nobody asked the bot anything, the admins get the same DM as from a turn (one per problem per hour).
Real parts: the Bolt app (`link_shared` dispatched as Socket Mode does), the `jira` package over HTTP against the
fake Jira, the real Slack client against the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.storage.db import Database
from integrations.tickets.jira import JiraTickets
from tests.approvals_world import ADMIN, CHANNEL, MAYA, ApprovalsWorld, close_world, make_world
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_server import JiraServer
from tests.fakes.slack_agent import link_shared
from tests.fakes.slack_payloads import event_callback
from tests.fakes.slack_server import FakeSlack
from tests.integration.test_misconfiguration import JIRA_REFUSED, admin_dms


@pytest.fixture
def jira() -> JiraServer:
    with JiraServer(projects={"OPS": "Operations"}) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def approvals_world(sqlite_database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock, jira: JiraServer) -> AsyncIterator[ApprovalsWorld]:
    from bot.storage.migrations import migrate

    await migrate(sqlite_database)
    backend: JiraTickets = jira_backend(jira)
    w = await make_world(
        sqlite_database, slack, model, clock, tickets=backend, jira_url=jira.url, jira_email=jira.email, jira_api_token=jira.api_token
    )
    yield w
    await close_world(w)
    await backend.aclose()


async def _share(approvals_world: ApprovalsWorld, url: str) -> None:
    event = link_shared(channel=CHANNEL, user=MAYA, message_ts="1763476500.000100", urls=[url])
    await approvals_world.app.async_dispatch(AsyncBoltRequest(body=event_callback(event), mode="socket_mode"))
    assert await approvals_world.surface.tasks.join(timeout=10), "the unfurl finished"


async def test_a_shared_link_unfurls_when_jira_answers(approvals_world: ApprovalsWorld, jira: JiraServer) -> None:
    await _share(approvals_world, f"{jira.url}/browse/OPS-1")

    assert len(approvals_world.slack.calls("chat.unfurl")) == 1 and admin_dms(approvals_world.slack, ADMIN) == []


async def test_a_refused_credential_unfurls_nothing_and_the_admins_hear_it_once(approvals_world: ApprovalsWorld, jira: JiraServer) -> None:
    jira.api_token = "rotated-by-the-jira-admin"

    await _share(approvals_world, f"{jira.url}/browse/OPS-1")
    await _share(approvals_world, f"{jira.url}/browse/OPS-2")

    assert approvals_world.slack.calls("chat.unfurl") == []
    [dm] = admin_dms(approvals_world.slack, ADMIN)
    assert JIRA_REFUSED in dm
