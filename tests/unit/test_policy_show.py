"""`chatops policy show`: the role × tool table is generated from the policy the bot enforces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.deps import Deps
from bot.policy.authorizer import build_authorizer
from bot.policy.decide import grant_outcome
from bot.policy.live import live_policy
from bot.policy.show import CELL, render_policy, run_policy_show
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.tools.registry import all_tools
from integrations.tickets.local import LocalTickets
from tests.conftest import FixedClock

ROOT = Path(__file__).resolve().parents[2]


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'show.db'}", **overrides)  # type: ignore[call-arg, arg-type]


def table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.split("## Projects by role")[0].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 2 and cells[0] not in ("tool", "---"):
            rows[cells[0]] = cells[2:]
    return rows


async def test_every_cell_is_what_the_policy_decides(tmp_path: Path, clock: FixedClock) -> None:
    settings = settings_for(tmp_path)
    db = Database(make_engine(settings.database_url))
    await migrate(db)
    deps = Deps(settings=settings, db=db, store=Store(db, clock=clock), tickets=LocalTickets(db, clock=clock), llm=None, tools=all_tools(), clock=clock)
    await build_authorizer(deps)
    state = await live_policy(deps).current()

    rows = table_rows(render_policy(state, all_tools()))

    roles = list(state.policy.roles)
    for tool in all_tools():
        assert rows[tool.name] == [CELL[grant_outcome(state.policy, r, tool.name, tool.effect.value)] for r in roles]
    assert rows["add_comment"] == ["allowed", "needs confirmation", "denied"]
    assert rows["get_ticket"] == ["allowed", "allowed", "allowed"]
    db.dispose()


async def test_the_command_shows_what_is_stored_including_admin_edits(
    tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, chatops_admins="U0ADMIN")
    db = Database(make_engine(settings.database_url))
    await migrate(db)
    store = Store(db, clock=clock)
    deps = Deps(settings=settings, db=db, store=store, tickets=LocalTickets(db, clock=clock), llm=None, tools=all_tools(), clock=clock)
    await build_authorizer(deps)
    state = await live_policy(deps).current()
    roles = state.policy.model_dump(mode="json")["roles"]
    roles["viewer"]["tools"] = ["read", "add_comment"]
    await store.apply_config(actor_id="U0ADMIN", expected_version=state.version, values={"policy.roles": roles})
    db.dispose()

    assert await run_policy_show(settings, fmt="markdown") == 0

    out = capsys.readouterr().out
    assert table_rows(out)["add_comment"] == ["allowed", "needs confirmation", "needs confirmation"]
    assert "Configuration version 2." in out and "U0ADMIN (CHATOPS_ADMINS)" in out


def test_a_bad_policy_file_stops_the_command_with_the_line_and_field(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("roles:\n  viewer:\n    projects: [ops team]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATOPS_", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}", CHATOPS_POLICY_FILE=str(policy), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "policy", "show"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "policy.yaml line 3, roles.viewer.projects: 'ops team' is not a project key" in done.stderr
