"""The schedules world, for the schedule and digest tests: a migrated real database, the local ticket store
with a small known project, the real policy authorizer, and the real AsyncWebClient talking to the fake Slack.

`SchedulesWorld.process()` builds another "bot process": its own engine on the same database, its own Deps, clock and
RunCoordinator owner, as a second `chatops run` would have.

The fake Slack workspace is the Slack-surface harness's `slack` fixture; `tests/integration/conftest.py` registers
`schedule_settings`, `schedules_world` (one process on a seeded database) and `spawn_process` (another process on
the same database, started by a `ProcessSpawner`). Tests import the helpers they need from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlalchemy import event, text
from sqlmodel import Session

from bot.deps import Deps
from bot.scheduler.runs import RunCoordinator, RunPolicy
from bot.settings import Settings
from bot.slack.approvals_ui import expire_approvals
from bot.slack_api.client import SlackClient, retry_handlers
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate_sync
from bot.storage.store import Store
from bot.storage.tables import ScheduleRow
from bot.wiring import build_deps
from integrations.llm.base import LLM
from integrations.tickets.base import NewTicket, TicketBackend
from integrations.tickets.local import (
    LocalTickets,
    add_person,
    add_project,
    assign_in,
    create_in,
    transition_in,
)
from tests.conftest import FixedClock
from tests.fakes.slack_server import FakeSlack

ADMIN = "U0ADMIN"
MEMBER = "U0MAYA"
CHANNEL = "C0OPS"
OUTSIDE = "C0NOTIN"
"""A channel the bot is not a member of."""

# Tuesday 1 December 2026, 09:00 in Berlin (08:00 UTC).
SLOT = datetime.fromisoformat("2026-12-01T08:00:00+00:00")


def same_database(db: Database) -> Database:
    """A second engine on the same database (and, on PostgreSQL, the same test schema)."""
    url = db.engine.url.render_as_string(hide_password=False)
    if not db.is_postgres:
        return Database(make_engine(url))
    with db.engine.connect() as conn:
        schema = conn.execute(text("SHOW search_path")).scalar_one()
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute(f"SET search_path TO {schema}")
        cur.close()
        dbapi_conn.commit()

    return Database(engine)


def seed_ops(db: Database, now: datetime) -> None:
    """Projects OPS and WEB (public) and SEC (private); two people linked to Slack users; OPS tickets of every
    kind, SEC-1 (Maya, idle 20 days), WEB-1 (Jonas, idle 8 days)."""

    def _seed(s: Session) -> None:
        add_project(s, key="OPS", name="Operations", at=now - timedelta(days=90))
        add_project(s, key="SEC", name="Security", at=now - timedelta(days=90), private=True)
        add_project(s, key="WEB", name="Website", at=now - timedelta(days=90))
        add_person(s, id="maya", name="Maya Chen", email="maya@example.com", slack_user_id=MEMBER)
        add_person(s, id="jonas", name="Jonas Weber", email="jonas@example.com", slack_user_id="U0JONAS")

        def ticket(
            summary: str, *, days_ago: float, priority: str = "Medium", assignee: str | None = None
        ) -> str:
            at = now - timedelta(days=days_ago)
            key = create_in(
                s,
                NewTicket(project="OPS", summary=summary, priority=priority),
                reporter_id=None,
                via="seed",
                at=at,
            )
            if assignee:
                assign_in(s, key, assignee, author_id=None, at=at)
            return key

        ticket("Rotate the TLS certificates", days_ago=0.5, assignee="maya")  # new
        ticket("Disk alerts on db-2 are noisy", days_ago=10, assignee="maya")  # stale
        blocked = ticket("Upgrade the load balancer", days_ago=1.5, assignee="jonas")
        transition_in(s, blocked, "Blocked", author_id=None, at=now - timedelta(days=1.5))
        ticket("Payments API returns 502", days_ago=1.5, priority="Highest")  # high, unassigned
        ticket("Tidy the runbook", days_ago=1.5, priority="Low", assignee="jonas")  # nothing to report
        secret = create_in(
            s, NewTicket(project="SEC", summary="Pen-test finding: SSRF", priority="Highest"), reporter_id=None,
            via="seed", at=now - timedelta(days=20),
        )  # fmt: skip
        assign_in(s, secret, "maya", author_id=None, at=now - timedelta(days=20))
        web = create_in(s, NewTicket(project="WEB", summary="Broken links on /pricing"), reporter_id=None, via="seed",
                        at=now - timedelta(days=8))  # fmt: skip
        assign_in(s, web, "jonas", author_id=None, at=now - timedelta(days=8))

    db.run_sync(_seed)


@dataclass
class SchedulesWorld:
    """One bot process: deps on the shared database, its own clock and coordinator."""

    deps: Deps
    clock: FixedClock
    slack: FakeSlack
    coordinator: RunCoordinator
    closers: list[Any] = field(default_factory=list)

    @property
    def store(self) -> Store:
        """The process's store."""
        return self.deps.store

    async def add_digest(
        self, *, schedule_id: str = "d0001", project: str = "OPS", cron: str = "0 9 * * 1-5",
        timezone: str = "Europe/Berlin", channel: str = CHANNEL, **options: Any,
    ) -> ScheduleRow:  # fmt: skip
        """Store a digest schedule created by the admin (as if added a day before SLOT)."""
        row = ScheduleRow(
            id=schedule_id, name=f"{project} morning", kind="digest", channel_id=channel, project_key=project,
            cron=cron, timezone=timezone, enabled=True, options={"stale_days": 3, **options}, created_by=ADMIN,
        )  # fmt: skip
        saved_at = self.clock.now
        self.clock.now = SLOT - timedelta(days=1)
        try:
            return await self.store.save_schedule(row, by=ADMIN, action="add")
        finally:
            self.clock.now = saved_at

    def posts(self, channel: str = CHANNEL) -> list[str]:
        """Texts the bot posted to a channel (via chat.postMessage)."""
        return [
            c.args.get("text", "")
            for c in self.slack.calls("chat.postMessage")
            if c.args.get("channel") == channel
        ]


async def make_world(
    db: Database, slack: FakeSlack, settings: Settings, *, now: datetime = SLOT, tickets: TicketBackend | None = None,
    policy: RunPolicy | None = None, llm: LLM | None = None,
) -> SchedulesWorld:  # fmt: skip
    """Deps for one process on `db` (already migrated); `llm`: its model (none by default: schedules need none)."""
    clock = FixedClock(now)
    # the production retry handlers (a post is never re-sent after a 5xx or a dropped connection), without waits
    handlers = retry_handlers(interval=FixedValueRetryIntervalCalculator(0.0))
    client = SlackClient(token=FakeSlack.BOT_TOKEN, base_url=slack.api_url, retry_handlers=handlers)
    deps = await build_deps(
        settings, db=db, tickets=tickets or LocalTickets(db, clock=clock), llm=llm, clock=clock, slack=client
    )
    return SchedulesWorld(deps=deps, clock=clock, slack=slack, coordinator=RunCoordinator(deps, expire_approvals=expire_approvals, policy=policy))


def schedule_settings(tmp_path: Path) -> Settings:
    """Settings with one admin and the local backend."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        chatops_admins=[ADMIN],
        chatops_retention_days=30,
    )


async def seeded_world(database: Database, slack: FakeSlack, settings: Settings) -> SchedulesWorld:
    """Migrate and seed `database`, then build a process on it."""
    migrate_sync(database.engine)
    seed_ops(database, SLOT)
    return await make_world(database, slack, settings)


Spawn = Callable[..., Awaitable[SchedulesWorld]]
"""What `spawn_process` gives: start another process."""


class ProcessSpawner:
    """Starts other bot processes on the same database, each on its own engine (`other = await spawn(now=...)`);
    `dispose()` closes the engines."""

    def __init__(self, database: Database, slack: FakeSlack, settings: Settings) -> None:
        self._database, self._slack, self._settings = database, slack, settings
        self._engines: list[Database] = []

    async def __call__(self, **kwargs: Any) -> SchedulesWorld:
        self._engines.append(same_database(self._database))
        return await make_world(self._engines[-1], self._slack, self._settings, **kwargs)

    def dispose(self) -> None:
        for db in self._engines:
            db.dispose()
