"""The agent harness, for every unit test without importing it: `harness` (an Agent on the real store with scripted
tools and an allow-all scripted authorizer, built by `make_harness`); `server` (the fake Messages API) comes from
`tests/conftest.py`. The pieces are in `tests/agent_harness.py` (with `Harness`, `make_harness`, `ScriptedAuthorizer`
and the test tools, which tests import); a module that defines a fixture of the same name uses its own."""

from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from bot.storage.db import Database
from tests.agent_harness import Harness, make_harness
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer


@pytest.fixture
async def harness(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> AsyncIterator[Harness]:
    """The default harness (allow-all scripted authorizer, default limits)."""
    h = await make_harness(settings, database, server, clock)
    yield h
    assert h.deps.llm is not None
    await h.deps.llm.aclose()
