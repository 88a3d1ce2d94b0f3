"""Digests against Jira: the real `jira` package over HTTP to the fake Jira, including an outage mid-digest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrations import migrate_sync
from integrations.tickets.jira import JiraTickets
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_seed import SEED_NOW
from tests.fakes.jira_server import JiraServer
from tests.fakes.slack_server import FakeSlack
from tests.schedules_world import CHANNEL, SchedulesWorld, make_world, same_database

JIRA_SLOT = SEED_NOW
"""Wednesday 18 November 2026, 15:30 in Berlin: the fake Jira's "now"."""
CRON = "30 15 * * 1-5"


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    """The fake Jira, seeded with people and 120 OPS issues."""
    with JiraServer() as server:
        yield server


@pytest.fixture
def backend(jira: JiraServer) -> Iterator[JiraTickets]:
    """The real Jira backend on the fake (retries back off without waiting)."""
    tickets = jira_backend(jira)
    yield tickets
    tickets.client.close()


@pytest.fixture
async def jira_world(
    sqlite_database: Database, slack: FakeSlack, schedule_settings: Settings, backend: JiraTickets
) -> SchedulesWorld:
    """A bot process whose ticket backend is Jira (the exactly-once storage runs on both databases elsewhere)."""
    migrate_sync(sqlite_database.engine)
    return await make_world(sqlite_database, slack, schedule_settings, now=JIRA_SLOT, tickets=backend)


async def test_a_digest_from_jira_groups_real_issues_by_assignee_with_links(
    jira_world: SchedulesWorld, jira: JiraServer
) -> None:
    schedule = await jira_world.add_digest(cron=CRON)

    result = await jira_world.coordinator.run_slot(schedule, JIRA_SLOT)

    assert result.outcome == "done"
    call = jira_world.slack.calls("chat.postMessage")[-1]
    sections = [b["text"]["text"] for b in call.args["blocks"] if b["type"] == "section"]
    assert call.args["text"].startswith("Digest for OPS: ")
    assert len(sections) > 2, "a headline and at least two assignees"
    assert f"<{jira.url}/browse/OPS-" in "\n".join(sections), "each ticket links to Jira"


async def test_a_jira_outage_during_a_digest_posts_a_short_notice_and_the_retry_posts_the_digest(
    jira_world: SchedulesWorld, jira: JiraServer, sqlite_database: Database, slack: FakeSlack,
    schedule_settings: Settings, backend: JiraTickets,
) -> None:  # fmt: skip
    schedule = await jira_world.add_digest(cron=CRON)
    outage = jira.fault("*", r"^/rest/api/", status=503, times=None)

    failed = await jira_world.coordinator.run_slot(schedule, JIRA_SLOT)

    assert failed.outcome == "retrying" and failed.retry_at == JIRA_SLOT + timedelta(minutes=10)
    assert jira_world.posts(CHANNEL) == [
        ":warning: The OPS digest failed (the ticket system did not answer). Retrying at Wed 15:40 CET."
    ]
    run = await jira_world.store.get_run(schedule.id, JIRA_SLOT)
    assert run is not None and run.status == "retrying" and run.message_ts is None

    outage.times = outage.hits  # Jira is back
    other = await make_world(
        same_database(sqlite_database),
        slack,
        schedule_settings,
        now=JIRA_SLOT + timedelta(minutes=10),
        tickets=backend,
    )
    [retried] = await other.coordinator.sweep()

    assert retried.outcome == "done"
    assert jira_world.posts(CHANNEL)[-1].startswith("Digest for OPS: ")
    run = await other.store.get_run(schedule.id, JIRA_SLOT)
    assert run is not None and run.attempts == 2 and run.message_ts == retried.message_ts
    other.deps.db.dispose()


async def test_a_digest_failing_every_retry_gives_up_until_the_next_slot(
    jira_world: SchedulesWorld, jira: JiraServer
) -> None:
    schedule = await jira_world.add_digest(cron=CRON)
    jira.fault("*", r"^/rest/api/", status=503, times=None)

    outcomes = []
    for minutes in (0, 10, 40):
        jira_world.clock.now = JIRA_SLOT + timedelta(minutes=minutes)
        results = await jira_world.coordinator.sweep() if minutes else [
            await jira_world.coordinator.run_slot(schedule, JIRA_SLOT)
        ]  # fmt: skip
        outcomes += [r.outcome for r in results]

    assert outcomes == ["retrying", "retrying", "failed"]
    assert jira_world.posts(CHANNEL)[-1] == (
        ":warning: The OPS digest failed again (the ticket system did not answer); I've stopped retrying this one. "
        "The next digest is due Thu 15:30 CET."
    )
    run = await jira_world.store.get_run(schedule.id, JIRA_SLOT)
    assert run is not None and (run.status, run.attempts, run.error) == (
        "failed", 3, "Jira failed to list projects (503).",
    )  # fmt: skip
