"""What the Agent sends the model API stays right while the adapter reuses the encoded system block and tool
catalogue (issue #12): a tool the admins switch off leaves the very next request, and the catalogue comes back byte
for byte when it is switched on again. The real tools, policy and AnthropicLLM, against the fake Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.deps import Deps
from bot.settings import Settings
from bot.storage.db import Database
from bot.tools.registry import all_tools
from bot.wiring import build_deps
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.tickets.local import LocalTickets
from tests.agent_harness import ALICE, THREAD, aimed_settings, fake_client
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply


@pytest.fixture(name="deps")
async def deps_fixture(settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock) -> AsyncIterator[Deps]:
    s = aimed_settings(settings, server)
    deps = await build_deps(
        s, db=database, tickets=LocalTickets(database, clock=clock), llm=AnthropicLLM.from_config(llm_config(s), client=fake_client(s)), clock=clock, slack=None
    )
    yield deps
    await deps.aclose()


async def switch_on(deps: Deps, names: list[str]) -> None:
    """What the config modal writes when the admins choose the enabled tools."""
    version = await deps.store.config_version()
    await deps.store.apply_config(actor_id="U0ADMIN", expected_version=version, values={"policy.enabled_tools": names})


async def test_a_tool_switched_off_leaves_the_next_request_and_comes_back_byte_for_byte(deps: Deps, server: AnthropicServer) -> None:
    server.respond_with(lambda body: text_reply("All good."))
    llm = deps.llm
    assert isinstance(llm, AnthropicLLM) and llm.body_encoder is not None
    everything = [t.name for t in all_tools()]

    async def offered(question: str) -> list[str]:
        result = await deps.agent.run_turn(actor=ALICE, thread=THREAD, text=question)
        assert result.status == "answered"
        return [t["name"] for t in server.bodies()[-1]["tools"]]

    before = await offered("First question")
    await offered("Second question")
    assert llm.body_encoder.misses == 2  # the system block and the catalogue, encoded once for both turns
    assert "search_tickets" in before

    await switch_on(deps, [n for n in everything if n != "search_tickets"])
    assert await offered("After switching search off") == [n for n in before if n != "search_tickets"]

    await switch_on(deps, everything)
    assert await offered("After switching it back on") == before
    assert server.prefix(3) == server.prefix(0)  # the prompt cache's prefix is the same bytes again
    assert server.bodies()[2]["tools"][-1]["cache_control"] == {"type": "ephemeral"}
