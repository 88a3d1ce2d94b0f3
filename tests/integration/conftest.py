"""The Slack-surface harness, for every integration test without importing it: `slack` (the fake Slack workspace
every world runs in), `model` (the fake Messages API), `bot` (the whole app served over HTTP, on SQLite and
PostgreSQL), `sqlite_bot`, `seeded_sqlite` / `seeded_sqlite_file` (a migrated, seeded database), `socket_bot` (the
app over Socket Mode); and the worlds built on it: `approvals_world` (`tests/approvals_world.py`),
`schedule_settings`, `schedules_world` and `spawn_process` (`tests/schedules_world.py`). (`server`, the fake
Messages API the MCP worlds' agent talks to, comes from `tests/conftest.py`.)

The pieces are in `tests/slack_harness.py` (with `SlackBot`, `start_bot` and the workspace's ids, which tests
import); a module that defines a fixture of the same name (its own `slack` workspace, say) uses its own.
"""

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.slack.server import serve
from bot.slack_api.client import SlackClient, retry_handlers
from bot.storage.db import Database, make_engine
from tests import approvals_world as approvals
from tests import schedules_world as schedules
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import SlackBot, fake_workspace, seed_template, start_bot


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The fake Slack Web API with the one workspace every world runs in (`fake_workspace`)."""
    with fake_workspace() as server:
        yield server


@pytest.fixture
async def slack_client(slack: FakeSlack) -> AsyncIterator[SlackClient]:
    """The bot's sanitizing Slack client (production retry handlers) on the fake workspace, for tests of one piece
    of the Slack surface without the app."""
    yield SlackClient(token=FakeSlack.BOT_TOKEN, base_url=slack.api_url, retry_handlers=retry_handlers())


@pytest.fixture
def model() -> Iterator[AnthropicServer]:
    """The fake Anthropic Messages API."""
    with AnthropicServer() as server:
        yield server


@pytest.fixture
async def bot(slack: FakeSlack, model: AnthropicServer, database: Database, clock: FixedClock) -> AsyncIterator[SlackBot]:
    """The app on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL."""
    async for harness in start_bot(slack, model, database, clock):
        yield harness


@pytest.fixture(scope="session")
def seeded_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo project, made once; tests get a copy."""
    return seed_template(tmp_path_factory.mktemp("slack-template") / "seeded.db")


@pytest.fixture
def seeded_sqlite(seeded_sqlite_file: Path, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the seeded SQLite database."""
    path = tmp_path / "bot.db"
    shutil.copyfile(seeded_sqlite_file, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    yield db
    db.dispose()


@pytest.fixture
async def sqlite_bot(
    slack: FakeSlack, model: AnthropicServer, seeded_sqlite: Database, clock: FixedClock
) -> AsyncIterator[SlackBot]:
    """The app on SQLite only (for behaviour that does not depend on the database)."""
    async for harness in start_bot(slack, model, seeded_sqlite, clock):
        yield harness


@pytest.fixture
async def socket_bot(
    slack: FakeSlack, model: AnthropicServer, seeded_sqlite: Database, clock: FixedClock
) -> AsyncIterator[SlackBot]:
    """The app served over Socket Mode, connected to the fake Slack (hello received)."""
    async for bot in start_bot(slack, model, seeded_sqlite, clock, slack_app_token=FakeSlack.APP_TOKEN):
        stop = asyncio.Event()
        serving = asyncio.create_task(serve(bot.app, bot.surface, http=False, host="127.0.0.1", port=0, stop=stop))
        await asyncio.to_thread(slack.socket_wait_connections, 1)
        try:
            yield bot
        finally:
            stop.set()
            await serving


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
