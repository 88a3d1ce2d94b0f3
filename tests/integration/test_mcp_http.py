"""MCP over streamable HTTP against the SDK-built fixture server process: headers, tools whose definition changes
after approval (announced or noticed by a re-list), a restart that must not re-trust, a crashed server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bot.settings import Settings
from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.integration.mcp_harness import HttpFixture, McpWorld, lines, make_world


def entry(fixture: HttpFixture, key: str | None = None) -> dict[str, Any]:
    return {"type": "http", "url": fixture.url, "headers": {"X-Fixture-Key": key or "${FIXTURE_KEY}"}}


@pytest.fixture
def http_fixture() -> Iterator[HttpFixture]:
    with HttpFixture() as fixture:
        yield fixture


@pytest.fixture
async def web(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock, http_fixture: HttpFixture, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[McpWorld]:
    monkeypatch.setenv("FIXTURE_KEY", http_fixture.key)
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, {"web": entry(http_fixture)})
    await w.enable("web")
    yield w
    await w.close()


async def mutate(fixture: HttpFixture) -> None:
    """Change `shifty`'s description, as the server's operator would, through a client of our own."""
    async with httpx2.AsyncClient(headers={"X-Fixture-Key": fixture.key}) as http:
        async with Client(streamable_http_client(fixture.url, http_client=http)) as client:
            await client.session.call_tool("mutate", {})


async def test_the_configured_headers_reach_the_server_with_variables_from_the_environment(web: McpWorld) -> None:
    web.server.queue(tool_use_reply([tool_use("web__echo", {"text": "over http"}, id="t1")]), text_reply("ok"))
    await web.ask()
    [block] = web.results()
    assert block["is_error"] is False and "echo: over http" in block["content"]


async def test_a_wrong_header_leaves_the_server_disconnected_and_reported(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock, http_fixture: HttpFixture) -> None:
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, {"web": entry(http_fixture, key="wrong")}, wait=0)
    try:
        hub = w.deps.mcp
        assert hub is not None
        assert await hub.servers["web"].wait_for(lambda s: s.last_error is not None, 30)
        assert "401" in (hub.servers["web"].status.last_error or "")
        w.server.queue(text_reply("fine"))
        assert (await w.ask()).text == "fine"
    finally:
        await w.close()


async def test_a_changed_description_withholds_that_tool_alone_until_an_admin_re_approves_it(web: McpWorld, http_fixture: HttpFixture, caplog: pytest.LogCaptureFixture) -> None:
    hub = web.deps.mcp
    assert hub is not None
    before = hub.listed("web", "shifty")
    assert before is not None
    await mutate(http_fixture)
    assert await hub.servers["web"].wait_for(lambda s: any("generation 2" in t.description for t in s.tools), 30)
    after = hub.listed("web", "shifty")
    assert after is not None and after.fingerprint != before.fingerprint
    web.server.queue(tool_use_reply([tool_use("web__shifty", {}, id="t1")]), text_reply("ok"))
    await web.ask()
    assert "web__shifty" not in web.offered(0) and "web__echo" in web.offered(0)
    [block] = web.results()
    assert block["is_error"] is True and "Unknown tool 'web__shifty'" in block["content"]
    assert lines(caplog, "mcp tool changed since approval")
    row = await web.deps.store.audit_for_key(f"mcp-changed:web:shifty:{after.fingerprint}")
    assert row is not None and row.details["changed"] == ["description"]
    await _approve(web)
    web.server.queue(text_reply("ok"))
    await web.ask()
    assert "web__shifty" in web.offered()


async def _approve(world: McpWorld) -> None:
    from bot.mcp.trust import change_trust

    await change_trust(world.deps, actor_id="U0ADMIN", server="web", action="approve")


async def test_a_restart_does_not_re_trust_a_tool_that_changed(web: McpWorld, http_fixture: HttpFixture, tmp_path: Path, server: AnthropicServer, clock: FixedClock, sqlite_database: Database) -> None:
    hub = web.deps.mcp
    assert hub is not None
    await hub.stop()  # the bot stops; the server changes meanwhile
    await mutate(http_fixture)
    await web.restart(wait=30)  # the bot starts again on the same database
    web.server.queue(text_reply("ok"))
    await web.ask()
    assert "web__shifty" not in web.offered() and "web__echo" in web.offered()


async def test_a_server_that_does_not_announce_changes_is_re_listed_before_the_turn_uses_it(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    with HttpFixture(notify=False) as quiet:
        w = await make_world(tmp_path, settings, sqlite_database, server, clock, {"web": entry(quiet, key=quiet.key)})
        try:
            await w.enable("web")
            hub = w.deps.mcp
            assert hub is not None and hub.servers["web"].status.notifies is False
            await mutate(quiet)
            w.server.queue(text_reply("ok"))
            await w.ask()  # the re-list before this turn sees the change
            assert "web__shifty" not in w.offered() and "web__echo" in w.offered()
        finally:
            await w.close()


async def test_a_crashed_http_server_is_reconnected_when_it_comes_back(web: McpWorld, http_fixture: HttpFixture) -> None:
    web.server.queue(tool_use_reply([tool_use("web__crash", {}, id="t1")]), text_reply("broke"))
    await web.ask()
    [block] = web.results()
    assert block["is_error"] is True
    http_fixture.proc and http_fixture.proc.wait(10)
    http_fixture.start()  # the operator restarts it on the same port
    hub = web.deps.mcp
    assert hub is not None
    assert await hub.servers["web"].wait_connected(connects=2, timeout=60)
    web.server.queue(tool_use_reply([tool_use("web__echo", {"text": "again"}, id="t2")]), text_reply("ok"))
    await web.ask()
    assert "echo: again" in web.results()[0]["content"]
