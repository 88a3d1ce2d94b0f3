"""Shared fixtures: isolated environment, fixed clock, real databases (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set; each PostgreSQL test gets its own schema)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.storage.db import Database, make_engine
from tests.fakes.anthropic_server import AnthropicServer
from tests.pg import postgres_schema_database

FIXED_NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)
"""A Wednesday afternoon: the clock every test uses unless it says otherwise."""

_ENV_PREFIXES = ("SLACK_", "ANTHROPIC_", "CHATOPS_", "JIRA_", "DATABASE_URL")



def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`pytest -n auto` (what `make test` runs) starts two workers per core: a large part of the suite waits on
    child processes, sockets and PostgreSQL rather than computing, so one worker per core leaves the cores idle
    (on 2 cores with PostgreSQL: 6 min 17 s with 2 workers, 4 min 50 s with 4)."""
    return 2 * (os.cpu_count() or 1)

def pytest_configure(config: pytest.Config) -> None:
    """The collector is off while this process collects (an xdist controller collects nothing: its workers do)."""
    if not config.getoption("numprocesses", None) or "PYTEST_XDIST_WORKER" in os.environ:
        gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collection imported every test module and, through them, bot/, the SDKs and the fakes: what it made lives for
    the whole session, so it is frozen (`gc.freeze`) instead of being walked by every later collection and once more
    at exit; the collector was off meanwhile (the way `chatops run` starts, bot/cli.py)."""
    gc.collect()
    gc.freeze()
    gc.enable()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's environment or .env file."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


class FixedClock:
    """A controllable clock: call it for now, `advance(seconds)` to move."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        from datetime import timedelta

        self.now = self.now + timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FixedClock:
    """The fixed clock."""
    return FixedClock()


def _db_params() -> list[object]:
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set"),
            ],
        )
    )
    return params


@pytest.fixture(params=_db_params())
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A real, empty (unmigrated) database: a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        db = Database(make_engine(f"sqlite:///{tmp_path / 'test.db'}"))
        yield db
        db.dispose()
    else:
        yield from postgres_schema_database(os.environ["TEST_DATABASE_URL"])


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A real, empty SQLite file database (for tests that do not need to run on both)."""
    db = Database(make_engine(f"sqlite:///{tmp_path / 'test.db'}"))
    yield db
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings as a test would configure them: local backend on a SQLite file, fast retries."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'chatops.db'}",
        anthropic_api_key="sk-ant-test-key",  # type: ignore[arg-type]
        chatops_llm_retry_base_seconds=0.01,
        chatops_llm_retry_max_seconds=0.05,
    )


@pytest.fixture
def server() -> Iterator[AnthropicServer]:
    """The fake Messages API (the agent harness's, `tests/agent_harness.py`; a module that serves another fake under
    this name defines its own)."""
    with AnthropicServer() as srv:
        yield srv
