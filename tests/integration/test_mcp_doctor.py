"""`chatops doctor` with MCP servers: connects to each, lists its tools with effect class, approval and who may use
them; reports a server that cannot connect and what the byte budget would leave out."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from bot.doctor import run_doctor
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer
from tests.integration.mcp_harness import fixture_stdio, make_world


async def test_doctor_lists_each_servers_tools_with_effect_approval_and_roles(tmp_path: Path, settings: Settings, server: AnthropicServer, clock: FixedClock) -> None:
    database = Database(make_engine(settings.database_url))
    servers = {"fx": fixture_stdio(), "gone": {"command": sys.executable, "args": ["-c", "raise SystemExit(2)"]}}
    world = await make_world(tmp_path, settings, database, server, clock, servers, wait=0, chatops_mcp_tools_budget_bytes=1000)
    try:
        hub = world.deps.mcp
        assert hub is not None and await hub.servers["fx"].wait_connected(timeout=40)
        await world.enable("fx")
    finally:
        await world.close()
        database.dispose()
    out = io.StringIO()
    code = await run_doctor(world.deps.settings.model_copy(update={"chatops_mcp_tools_budget_bytes": 1000}), out=out)
    report = out.getvalue()
    assert code == 1  # `gone` never connects
    assert "[ok] MCP server fx: connected, 12 tools, enabled; stdio" in report
    assert "[FAIL] MCP server gone: not connected (" in report
    assert "fx__echo" in report and "read  approved; roles: member; offered in: every channel;" in report
    assert "fx__mutate" in report and "write approved; roles: member" in report
    assert "bad.schema                               withheld: invalid input schema at properties/n/minimum" in report
    assert "Left out when all are granted in one channel (over the budget;" in report
