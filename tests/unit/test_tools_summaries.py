"""summarize_ticket against a model too slow for the tool's time limit (a property of the tool, not of the
backend; the rest runs on every backend in tests/contract/test_tools_summaries.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.messages import tools as tool_text
from bot.settings import Settings
from bot.storage.db import Database
from bot.tools.summaries import MODEL_THRESHOLD
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply
from tests.unit.ticket_world import World, build_world, call


@pytest.fixture
def server() -> Iterator[AnthropicServer]:
    with AnthropicServer() as srv:
        yield srv


@pytest.fixture
async def world(sqlite_database: Database, clock: FixedClock, settings: Settings, server: AnthropicServer) -> World:
    tuned = settings.model_copy(
        update={
            "anthropic_base_url": server.url,
            "chatops_model": "claude-sonnet-4-6",
            "chatops_tool_timeout_seconds": 0.4,
        }
    )
    return await build_world(sqlite_database, clock, tuned, llm=AnthropicLLM.from_config(llm_config(tuned)))


async def test_a_model_too_slow_for_the_tool_time_limit_is_given_up_for_the_condensation(
    world: World, server: AnthropicServer
) -> None:
    key = await world.ticket("Checkout API returns 502", assignee="maya")
    for n in range(MODEL_THRESHOLD + 1):
        world.clock.advance(60)
        await world.comment(key, f"Update {n}")
    server.queue(text_reply("Too late.", delay=30))

    result = await call(world.context(), "summarize_ticket", key=key)

    assert result["note"] == tool_text.model_summary_unavailable()
    assert "summary" not in result and result["where_it_stands"].startswith("To Do since")
