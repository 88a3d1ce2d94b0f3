"""MCP benchmark: what the bot adds to a call, how long three servers take to attach, and catalogue sizes.

Prints (targets in brackets):
- added latency per MCP call on stdio [p50 < 5 ms]: the bot's tool path (JSON Schema check, fingerprint check,
  `McpServer.call`, result mapping) against the bare SDK call `client.session.call_tool` to the same server in the
  same run (the server's own time: transport + server); medians and p99 of each, and the difference of medians;
- start-up with three servers attached (the SDK-built fixture, mcp-server-time, mcp-server-git): from
  `hub.start()` until all are connected and listed, next to one bare SDK connect of mcp-server-time;
- catalogue bytes: the real servers' tool definitions, and a synthetic mcp-atlassian-sized server (63 tools,
  ~53 KB), offered in one channel with and without per-channel toolsets, and what the 20 KB budget leaves out.

Run: `python -m benchmarks mcp` or `make bench`.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from bot.mcp.catalogue import spec_bytes, within_budget
from bot.mcp.hub import McpHub
from bot.mcp.tools import build_tools
from bot.policy.model import Policy
from integrations.mcp.config import ServerConfig
from integrations.mcp.tools import ToolDef

FIXTURE = str(Path(__file__).resolve().parents[1] / "tests" / "fakes" / "mcp_fixture.py")
CALLS = 400
STARTS = 3


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _line(label: str, values: list[float]) -> str:
    return f"   {label:<46} p50 {statistics.median(values):7.2f} ms   p99 {_pct(values, 0.99):7.2f} ms   (n={len(values)})"


async def call_overhead() -> None:
    """Alternate bare SDK calls and calls through the bot's tool path to one fixture process each."""
    params = StdioServerParameters(command=sys.executable, args=[FIXTURE, "stdio"])
    hub = McpHub([ServerConfig(name="fx", transport="stdio", command=sys.executable, args=(FIXTURE, "stdio"))], default_timeout=10)
    hub.start()
    await hub.wait_connected(60)
    tools, _ = hub.tools(Policy())
    echo = next(t for t in tools if t.name == "fx__echo")
    assert echo.source is not None
    bare: list[float] = []
    ours: list[float] = []
    async with Client(params) as client:
        await client.session.list_tools()
        for _ in range(30):  # warm both paths
            await client.session.call_tool("echo", {"text": "warm"})
            await hub.call(echo.source, {"text": "warm"})
        for i in range(CALLS):
            arguments = {"text": f"hello {i}"}
            started = time.perf_counter()
            await client.session.call_tool("echo", arguments)
            bare.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            args = echo.args_model.model_validate(arguments)
            result = await hub.call(echo.source, dict(args.model_extra or {}))
            assert not result.is_error
            ours.append((time.perf_counter() - started) * 1000)
    await hub.stop()
    print("MCP call latency, stdio, the fixture's echo tool")
    print(_line("bare SDK client.session.call_tool (peer)", bare))
    print(_line("bot tool path (validate + check + call + map)", ours))
    print(f"   added by the bot: p50 {statistics.median(ours) - statistics.median(bare):+.2f} ms [target < 5 ms]")


def _repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    return repo


async def startup() -> None:
    """Three servers from `hub.start()` to all listed; one bare SDK connect for scale."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = _repo(Path(tmp))
        configs = [
            ServerConfig(name="fx", transport="stdio", command=sys.executable, args=(FIXTURE, "stdio")),
            ServerConfig(name="time", transport="stdio", command=sys.executable, args=("-m", "mcp_server_time")),
            ServerConfig(name="git", transport="stdio", command=sys.executable, args=("-m", "mcp_server_git", "--repository", str(repo))),
        ]
        three: list[float] = []
        one: list[float] = []
        for _ in range(STARTS):
            hub = McpHub(configs, default_timeout=10)
            started = time.perf_counter()
            hub.start()
            ok = await hub.wait_connected(120)
            three.append((time.perf_counter() - started) * 1000)
            assert ok, hub.statuses()
            await hub.stop()
            started = time.perf_counter()
            async with Client(StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_time"])) as client:
                await client.session.list_tools()
                one.append((time.perf_counter() - started) * 1000)
    print("Start-up (process start, handshake, tools/list)")
    print(_line("three servers through the hub", three))
    print(_line("one bare SDK connect of mcp-server-time (peer)", one))


def synthetic(count: int = 63, size: int = 850) -> list[ToolDef]:
    """An mcp-atlassian-sized server: `count` tools of about `size` bytes each."""
    out = []
    for i in range(count):
        props = {f"field_{j}": {"type": "string", "description": f"Field {j} of the request, as the API expects it."} for j in range(5)}
        out.append(ToolDef(name=f"jira_tool_{i:02d}", description=("Does one Jira thing. " * 20)[: size - 500], input_schema={"type": "object", "properties": props, "required": ["field_0"]}, annotations={"readOnlyHint": i % 3 != 0}))
    return out


async def catalogue() -> None:
    """Bytes of MCP definitions offered in #general, with and without per-channel toolsets."""
    big, _ = build_tools("atlassian", synthetic(), effects={}, reserved=frozenset())
    with tempfile.TemporaryDirectory() as tmp:
        repo = _repo(Path(tmp))
        hub = McpHub([
            ServerConfig(name="fx", transport="stdio", command=sys.executable, args=(FIXTURE, "stdio")),
            ServerConfig(name="time", transport="stdio", command=sys.executable, args=("-m", "mcp_server_time")),
            ServerConfig(name="git", transport="stdio", command=sys.executable, args=("-m", "mcp_server_git", "--repository", str(repo))),
        ], default_timeout=10)
        hub.start()
        await hub.wait_connected(120)
        real, _ = hub.tools(Policy())
        await hub.stop()
    everything = [*real, *big]
    toolsets = Policy.model_validate({"mcp_toolsets": {"mcp:atlassian:*": ["C0JIRA"], "mcp:git:*": ["C0DEVOPS"]}})

    def offered_in_general(tools: list[Any], policy: Policy) -> list[Any]:
        return [t for t in tools if policy.mcp_offered_in(t.policy_name, channel_id="C0GENERAL", channel_type="public")]

    print("Catalogue bytes of MCP tool definitions (JSON as sent to the model)")
    for label, tools in (("real servers (fx, time, git)", real), ("synthetic mcp-atlassian (63 tools)", big), ("all four servers", everything)):
        print(f"   {label:<46} {sum(spec_bytes(t) for t in tools):7d} bytes, {len(tools)} tools")
    for label, policy in (("#general without toolsets", Policy()), ("#general with toolsets (jira, git bound elsewhere)", toolsets)):
        tools = offered_in_general(everything, policy)
        kept, left, used = within_budget(tools, 20_000)
        print(f"   {label:<46} {sum(spec_bytes(t) for t in tools):7d} bytes before the budget; {used} bytes / {len(kept)} tools offered, {len(left)} left out by the 20 KB budget")


def main() -> None:
    """Run the three measurements."""
    asyncio.run(call_overhead())
    asyncio.run(startup())
    asyncio.run(catalogue())


if __name__ == "__main__":
    main()
