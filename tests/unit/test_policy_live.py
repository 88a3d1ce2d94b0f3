"""The policy in the database: bootstrap from the environment and file, audited changes, every process sees a
change on its next request, and a stale or half change is refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.deps import Deps
from bot.errors import ConfigError, Conflict
from bot.policy.roles import role_of
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.tools.base import Effect, Tool, ToolArgs, tool
from bot.wiring import build_deps
from integrations.tickets.local import LocalTickets, add_project
from tests.conftest import FixedClock


class KeyArgs(ToolArgs):
    key: str


async def _get(ctx: object, args: KeyArgs) -> None:
    """Read one ticket."""


async def _comment(ctx: object, args: KeyArgs) -> None:
    """Comment on one ticket."""


TOOLS: list[Tool] = [
    tool(name="get_ticket", effect=Effect.READ, args=KeyArgs, ticket_key_fields=("key",))(_get),
    tool(name="add_comment", effect=Effect.WRITE, args=KeyArgs, ticket_key_fields=("key",))(_comment),
]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}", **overrides)  # type: ignore[call-arg, arg-type]


async def start(db: Database, clock: FixedClock, settings: Settings, **overrides: Any) -> Deps:
    """One process starting on this database (its start-up bootstraps the policy)."""
    tickets = LocalTickets(db, clock=clock)
    return await build_deps(settings, db=db, tickets=tickets, llm=None, tools=TOOLS, clock=clock, slack=None, **overrides)


@pytest.fixture
async def db(database: Database, clock: FixedClock) -> AsyncIterator[Database]:
    await migrate(database)

    def projects(session: object) -> None:
        add_project(session, key="OPS", name="Operations", at=clock())  # type: ignore[arg-type]
        add_project(session, key="SEC", name="Security", at=clock(), private=True)  # type: ignore[arg-type]

    database.run_sync(projects)  # type: ignore[arg-type]
    yield database


async def test_the_first_start_stores_the_default_policy_and_audits_it(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    deps = await start(db, clock, make_settings(tmp_path, chatops_admins="U0ADMIN", chatops_default_role="viewer"))
    snapshot = await deps.store.load_config()
    assert snapshot.version == 1
    assert snapshot.values["policy.default_role"] == "viewer"
    assert set(snapshot.values["policy.roles"]) == {"admin", "member", "viewer"}
    audited = {row.target for row in await deps.store.config_audit()}
    assert {"policy.roles", "policy.default_role", "policy.channel_scopes"} <= audited
    assert await role_of(deps, "U0ADMIN") == "admin"
    assert await role_of(deps, "U0SOMEONE") == "viewer"


async def test_a_second_start_with_the_same_inputs_changes_nothing(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    await start(db, clock, settings)
    await start(db, clock, settings)
    assert await Store(db, clock=clock).config_version() == 1


async def test_edits_survive_a_restart_until_the_environment_says_something_new(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    deps = await start(db, clock, make_settings(tmp_path))
    await deps.store.apply_config(
        actor_id="U0ADMIN", expected_version=1, values={"policy.private_projects": ["OPS"]}, assignments={"U0BOB": "viewer"}
    )
    restarted = await start(db, clock, make_settings(tmp_path))
    state = await restarted.live.current()
    assert state.policy.private_projects == ("OPS",) and state.role_of("U0BOB") == "viewer"

    viewer_default = await start(db, clock, make_settings(tmp_path, chatops_default_role="viewer"))
    state = await viewer_default.live.current()
    assert state.policy.default_role == "viewer"
    assert state.policy.private_projects == ("OPS",)  # only what changed in the environment is re-applied


async def test_the_policy_file_is_applied_and_re_applied_when_it_changes(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[assignments]\nU0CAROL = "admin"\n', encoding="utf-8")
    settings = make_settings(tmp_path, chatops_policy_file=path)
    deps = await start(db, clock, settings)
    assert await role_of(deps, "U0CAROL") == "admin"

    path.write_text('private_projects = ["OPS"]\n[assignments]\nU0CAROL = "member"\n', encoding="utf-8")
    again = await start(db, clock, settings)
    assert await role_of(again, "U0CAROL") == "member"
    assert (await again.live.current()).policy.private_projects == ("OPS",)


async def test_a_bad_policy_file_stops_start_up(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("roles:\n  viewer:\n    tools: [read, delete_everything]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 3, roles.viewer.tools: unknown tool 'delete_everything'"):
        await start(db, clock, make_settings(tmp_path, chatops_policy_file=path))
    assert await Store(db, clock=clock).config_version() == 0  # nothing stored


async def test_a_policy_file_naming_a_project_that_does_not_exist_stops_start_up(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('private_projects = ["SEC", "NOPE"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1, private_projects: unknown project 'NOPE' \\(known: OPS, SEC\\)"):
        await start(db, clock, make_settings(tmp_path, chatops_policy_file=path))


async def test_without_a_refresh_interval_a_change_saved_by_another_process_applies_on_the_next_request(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, chatops_config_refresh_seconds=0)
    this_process = await start(db, clock, settings)
    assert await role_of(this_process, "U0BOB") == "member"
    other_process = Store(Database(db.engine), clock=clock)
    await other_process.apply_config(actor_id="U0ADMIN", expected_version=1, assignments={"U0BOB": "viewer"})
    assert await role_of(this_process, "U0BOB") == "viewer"


class Timer:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_change_saved_by_another_process_applies_once_the_refresh_interval_passed(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, chatops_config_refresh_seconds=2)
    timer = Timer()
    this_process = await start(db, clock, settings, timer=timer)
    assert await role_of(this_process, "U0BOB") == "member"
    other_process = Store(Database(db.engine), clock=clock)
    await other_process.apply_config(actor_id="U0ADMIN", expected_version=1, assignments={"U0BOB": "viewer"})

    timer.now += 1.9
    assert await role_of(this_process, "U0BOB") == "member"  # the cached version, no database read
    timer.now += 0.2
    assert await role_of(this_process, "U0BOB") == "viewer"


async def test_a_change_saved_through_this_process_applies_at_once_whatever_the_interval(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, chatops_config_refresh_seconds=300)
    deps = await start(db, clock, settings)
    assert await role_of(deps, "U0BOB") == "member"
    await deps.store.apply_config(actor_id="U0ADMIN", expected_version=1, assignments={"U0BOB": "viewer"})
    assert await role_of(deps, "U0BOB") == "viewer"


async def test_a_change_based_on_a_stale_version_writes_nothing(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    deps = await start(db, clock, make_settings(tmp_path))
    await deps.store.apply_config(actor_id="U0A", expected_version=1, assignments={"U0BOB": "viewer"})
    with pytest.raises(Conflict):
        await deps.store.apply_config(
            actor_id="U0B", expected_version=1, values={"settings.chatops_model": "x"}, assignments={"U0BOB": "admin"}
        )
    snapshot = await deps.store.load_config()
    assert snapshot.version == 2
    assert snapshot.assignments == {"U0BOB": "viewer"}
    assert "settings.chatops_model" not in snapshot.values


async def test_two_processes_starting_at_once_store_the_policy_once(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    await asyncio.gather(*(start(Database(db.engine), clock, settings) for _ in range(4)))
    store = Store(db, clock=clock)
    assert await store.config_version() == 1
    bootstraps = [r for r in await store.config_audit(limit=500) if r.target == "policy.roles"]
    assert len(bootstraps) == 1


async def test_every_change_is_audited_with_who_field_before_and_after(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    deps = await start(db, clock, make_settings(tmp_path))
    clock.advance(60)
    version, changes = await deps.store.apply_config(
        actor_id="U0ADMIN", expected_version=1, values={"settings.chatops_max_steps": 4}, assignments={"U0BOB": "viewer"}
    )
    assert version == 2 and len(changes) == 2
    rows = [r for r in await deps.store.config_audit() if r.action == "config_change"]
    assert {(r.user_id, r.target) for r in rows} == {("U0ADMIN", "settings.chatops_max_steps"), ("U0ADMIN", "role:U0BOB")}
    steps = next(r for r in rows if r.target == "settings.chatops_max_steps")
    assert steps.details == {"field": "settings.chatops_max_steps", "before": None, "after": 4}
    assert steps.at.replace(tzinfo=None) == clock().replace(tzinfo=None)


async def test_model_and_limit_overrides_reach_the_effective_settings(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    deps = await start(db, clock, make_settings(tmp_path))
    assert (await deps.live.settings()).chatops_model == "claude-sonnet-4-6"
    await deps.store.apply_config(
        actor_id="U0ADMIN",
        expected_version=1,
        values={"settings.chatops_model": "claude-haiku-4-5", "settings.chatops_max_steps": 4},
    )
    live = await deps.live.settings()
    assert (live.chatops_model, live.chatops_max_steps) == ("claude-haiku-4-5", 4)
    assert deps.settings.chatops_model == "claude-sonnet-4-6"  # the start-up object is never mutated


async def test_requests_that_find_the_interval_passed_at_the_same_moment_read_the_version_once(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    timer = Timer()
    deps = await start(db, clock, make_settings(tmp_path, chatops_config_refresh_seconds=2), timer=timer)
    await deps.live.current()
    timer.now += 2.1  # a burst arrives after the interval
    reads: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        reads.append(statement)

    states = await asyncio.gather(*(deps.live.current() for _ in range(50)))
    event.remove(db.engine, "before_cursor_execute", _seen)

    assert len({id(state) for state in states}) == 1
    assert len(reads) == 1, reads  # the version, read by the first request; the other 49 wait for it
