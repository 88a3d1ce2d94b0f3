"""The Slack-surface harness, for every integration test without importing it: `slack` (the fake Slack workspace
every world runs in), `model` (the fake Messages API), `bot` (the whole app served over HTTP, on SQLite and
PostgreSQL), `sqlite_bot`, `seeded_sqlite` / `seeded_sqlite_file` (a migrated, seeded database), `socket_bot` (the
app over Socket Mode); the worlds built on it: `approvals_world` (`tests/approvals_world.py`), `schedule_settings`,
`schedules_world` and `spawn_process` (`tests/schedules_world.py`); and the agent harness's `server` (the fake
Messages API the MCP worlds' agent talks to).

The Slack harness is defined in `test_slack_harness.py` (with `SlackBot`, `start_bot` and the workspace's ids, which
tests import); a module that defines a fixture of the same name (its own `slack` workspace, say) uses its own.
"""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.storage.db import Database
from tests import approvals_world as approvals
from tests import schedules_world as schedules
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.slack_server import FakeSlack
from tests.integration.test_slack_harness import (
    fixture_bot,
    fixture_model,
    fixture_seeded_sqlite,
    fixture_seeded_sqlite_file,
    fixture_slack,
    fixture_sqlite_bot,
)
from tests.integration.test_slack_socket_frames import socket_bot
from tests.unit.test_agent_harness import server_fixture

__all__ = [
    "fixture_bot",
    "fixture_model",
    "fixture_seeded_sqlite",
    "fixture_seeded_sqlite_file",
    "fixture_slack",
    "fixture_sqlite_bot",
    "server_fixture",
    "socket_bot",
]


@pytest.fixture
async def approvals_world(
    database: Database, slack: FakeSlack, model: AnthropicServer, clock: FixedClock
) -> AsyncIterator[approvals.ApprovalsWorld]:
    """The approvals world's bot process on a seeded database (SQLite, and PostgreSQL when TEST_DATABASE_URL is
    set); U0VIC is assigned the viewer role."""
    world = await approvals.start_approvals_world(database, slack, model, clock)
    yield world
    await approvals.close_world(world)


@pytest.fixture
def schedule_settings(tmp_path: Path) -> Settings:
    """Settings with one admin and the local backend."""
    return schedules.schedule_settings(tmp_path)


@pytest.fixture
async def schedules_world(
    database: Database, slack: FakeSlack, schedule_settings: Settings
) -> schedules.SchedulesWorld:
    """One schedules process on a migrated, seeded database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""
    return await schedules.seeded_world(database, slack, schedule_settings)


@pytest.fixture
def spawn_process(
    database: Database, slack: FakeSlack, schedule_settings: Settings
) -> Iterator[schedules.Spawn]:
    """Start another schedules process on the same database: `other = await spawn_process(now=...)`."""
    spawner = schedules.ProcessSpawner(database, slack, schedule_settings)
    yield spawner
    spawner.dispose()
