"""A scheduled digest that meets Jira refusing the bot's credential: the admins get the same DM as from a turn (at
most one per problem per hour), the run is recorded as failed with that reason, the channel hears why, and
nothing retries or pauses. Real parts: APScheduler's job callback (`ChatopsScheduler.fire`) and the run
coordinator, the `jira` package over HTTP against the fake Jira (recorded refusal shapes), the real AsyncWebClient
against the fake Slack, a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from bot.scheduler.scheduler import ChatopsScheduler
from bot.settings import Settings
from bot.slack.schedule_commands import handle_digest_command
from bot.storage.db import Database
from bot.storage.migrations import migrate_sync
from integrations.tickets.jira import JiraTickets
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_server import JiraServer
from tests.fakes.slack_server import FakeSlack
from tests.integration.test_digest_jira import CRON, JIRA_SLOT
from tests.schedules_world import ADMIN, CHANNEL, MEMBER, SchedulesWorld, make_world

JIRA_REFUSED = "Jira rejected the bot's credentials: check JIRA_EMAIL and JIRA_API_TOKEN"
DC_REFUSED = "Jira rejected the bot's credentials: check JIRA_PAT"


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    """The fake Jira, seeded with people and 120 OPS issues."""
    with JiraServer() as server:
        yield server


@pytest.fixture
async def schedules_world(sqlite_database: Database, slack: FakeSlack, schedule_settings: Settings, jira: JiraServer) -> AsyncIterator[SchedulesWorld]:
    migrate_sync(sqlite_database.engine)
    backend: JiraTickets = jira_backend(jira)
    yield await make_world(sqlite_database, slack, schedule_settings, now=JIRA_SLOT, tickets=backend)
    await backend.aclose()


@pytest.fixture
async def scheduler(schedules_world: SchedulesWorld) -> AsyncIterator[ChatopsScheduler]:
    """The process's scheduler on the world's coordinator; jobs are fired by calling what APScheduler calls."""
    sched = ChatopsScheduler(schedules_world.deps, coordinator=schedules_world.coordinator)
    await sched.start(paused=True)
    yield sched
    await sched.stop()


def admin_dms(schedules_world: SchedulesWorld) -> list[str]:
    return schedules_world.posts(ADMIN)


REFUSALS = {
    "Cloud: a rotated API token (401 + X-Seraph-LoginReason)": None,
    "Cloud: 404 + X-Seraph-LoginReason AUTHENTICATED_FAILED": 404,
    "CAPTCHA (403 AUTHENTICATION_DENIED)": 403,
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_a_refused_credential_in_a_scheduled_digest_dms_the_admins_and_fails_the_run_with_the_reason(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler, jira: JiraServer, refusal: str
) -> None:
    schedule = await schedules_world.add_digest(cron=CRON)
    await scheduler.reload(force=True)
    if REFUSALS[refusal] == 404:
        jira.fault("*", r"^/rest/api/", status=404, headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}, times=None)
    elif REFUSALS[refusal] == 403:
        jira.captcha = True
    else:
        jira.api_token = "rotated-by-the-jira-admin"

    result = await scheduler.fire(schedule.id)

    assert result is not None and result.outcome == "failed" and result.retry_at is None
    run = await schedules_world.store.get_run(schedule.id, JIRA_SLOT)
    assert run is not None and (run.status, run.error, run.message_ts) == ("failed", f"misconfigured: {JIRA_REFUSED}", None)
    [dm] = admin_dms(schedules_world)
    assert f"chatops is misconfigured: {JIRA_REFUSED}." in dm
    assert f"Seen by the scheduled digest 'OPS morning' (`{schedule.id}`) for <#{CHANNEL}>." in dm
    assert schedules_world.posts(CHANNEL) == [
        f":warning: The OPS digest failed: the assistant is misconfigured ({JIRA_REFUSED}). The admins have been told. "
        "The next digest is due Thu 15:30 CET."
    ]
    assert await schedules_world.store.due_runs() == [], "no retry: minutes later the credential is refused the same way"
    fresh = await schedules_world.store.get_schedule(schedule.id)
    assert fresh is not None and fresh.enabled, "not paused: the next slot runs once an admin fixes the setting"


async def test_the_admins_hear_once_an_hour_however_many_slots_meet_the_problem(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler, jira: JiraServer
) -> None:
    first = await schedules_world.add_digest(schedule_id="d-ops", cron=CRON)
    second = await schedules_world.add_digest(schedule_id="d-web", project="WEB", cron=CRON)
    await scheduler.reload(force=True)
    jira.api_token = "rotated-by-the-jira-admin"

    outcomes = [await scheduler.fire(first.id), await scheduler.fire(second.id)]
    schedules_world.clock.now = JIRA_SLOT + timedelta(days=1)  # Thursday's slot, a day later: told again
    outcomes.append(await scheduler.fire(first.id))

    assert [r.outcome for r in outcomes if r is not None] == ["failed", "failed", "failed"]
    assert len(admin_dms(schedules_world)) == 2
    assert len(schedules_world.posts(CHANNEL)) == 3, "each failed run still tells its channel why"


async def test_data_center_refusing_the_pat_names_the_pat_setting(
    sqlite_database: Database, slack: FakeSlack, schedule_settings: Settings
) -> None:
    migrate_sync(sqlite_database.engine)
    with JiraServer(deployment="Server") as server:
        backend = jira_backend(server)
        schedules_world = await make_world(sqlite_database, slack, schedule_settings, now=JIRA_SLOT, tickets=backend)
        schedule = await schedules_world.add_digest(cron=CRON)
        server.pat = "revoked"

        result = await schedules_world.coordinator.run_slot(schedule, JIRA_SLOT)
        await backend.aclose()

    assert result.outcome == "failed" and result.error == f"misconfigured: {DC_REFUSED}"
    [dm] = admin_dms(schedules_world)
    assert DC_REFUSED in dm


async def test_after_the_fix_the_next_slot_posts_the_digest(
    schedules_world: SchedulesWorld, scheduler: ChatopsScheduler, jira: JiraServer
) -> None:
    schedule = await schedules_world.add_digest(cron=CRON)
    await scheduler.reload(force=True)
    jira.api_token = "rotated-by-the-jira-admin"
    await scheduler.fire(schedule.id)

    jira.api_token = "api-token-for-tests"  # the admin put the right token back
    schedules_world.clock.now = JIRA_SLOT + timedelta(days=1)
    result = await scheduler.fire(schedule.id)

    assert result is not None and result.outcome == "done"
    assert schedules_world.posts(CHANNEL)[-1].startswith("Digest for OPS: ")


async def test_a_preview_tells_the_asker_the_assistant_is_misconfigured_and_the_admins_are_told(schedules_world: SchedulesWorld, jira: JiraServer) -> None:
    jira.api_token = "rotated-by-the-jira-admin"

    reply = await handle_digest_command(schedules_world.deps.slack, schedules_world.deps, user_id=MEMBER, channel_id=CHANNEL, text="preview OPS")

    assert reply == f"I can't answer right now: the assistant is misconfigured ({JIRA_REFUSED}). The admins have been told."
    [dm] = admin_dms(schedules_world)
    assert JIRA_REFUSED in dm and f"Seen when <@{MEMBER}> asked in <#{CHANNEL}>." in dm
