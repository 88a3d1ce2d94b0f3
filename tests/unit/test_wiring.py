"""The wiring: `build_deps` builds every part once, in order, into a frozen `Deps` whose one Agent runs on the very
same parts (store, live policy, leases, alerts) the surfaces are given; the Slack client is built from the settings
unless the caller says there is none (the terminal)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from bot.deps import Deps
from bot.policy.authorizer import PolicyAuthorizer
from bot.settings import Settings
from bot.slack_api.client import SlackClient
from bot.tools.registry import all_tools
from bot.wiring import build_deps
from tests.conftest import FixedClock


@pytest.fixture
async def deps(settings: Settings, clock: FixedClock) -> AsyncIterator[Deps]:
    built = await build_deps(settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/api/"}), clock=clock)
    yield built
    await built.aclose()


async def test_deps_are_frozen(deps: Deps) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        deps.slack = None  # type: ignore[misc]


async def test_the_agent_runs_on_the_same_parts_the_surfaces_are_given(deps: Deps) -> None:
    agent_parts = deps.agent.deps
    for part in ("store", "tickets", "live", "catalog", "authorizer", "leases", "alerts", "slack", "metrics", "llm"):
        assert getattr(agent_parts, part) is getattr(deps, part), part


async def test_the_policy_is_bootstrapped_and_decides_through_the_live_policy_and_catalog(deps: Deps) -> None:
    assert isinstance(deps.authorizer, PolicyAuthorizer)
    assert deps.authorizer.live is deps.live and deps.authorizer.catalog is deps.catalog
    assert await deps.store.config_version() == 1
    assert [t.name for t in deps.tools] == [t.name for t in all_tools()]


async def test_the_slack_client_is_the_sanitizing_one_on_slack_api_url(deps: Deps) -> None:
    assert isinstance(deps.slack, SlackClient)
    assert deps.slack.base_url == "http://127.0.0.1:9/api/"
    assert deps.alerts.slack is deps.slack


async def test_the_terminal_has_no_slack_client_and_nobody_to_alert(settings: Settings, clock: FixedClock) -> None:
    terminal = await build_deps(settings, clock=clock, slack=None)
    try:
        assert terminal.slack is None and terminal.alerts.slack is None
        assert not terminal.lifecycle.draining and not terminal.scheduler.running
    finally:
        await terminal.aclose()
