"""Harness for the MCP tests (no tests here): the real Agent and PolicyAuthorizer, the real AnthropicLLM over HTTP
to the fake Messages API, a real database, and real MCP servers started as processes: the SDK-built fixture
(`tests/fakes/mcp_fixture.py`, stdio or streamable HTTP), `mcp-server-time` and `mcp-server-git` from PyPI."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.agent.loop import Agent, ThreadRef
from bot.agent.types import ProgressEvent, TurnResult
from bot.clock import Clock
from bot.deps import Deps
from bot.mcp.trust import change_trust
from bot.settings import Settings
from bot.storage.db import Database
from bot.tools.base import Actor
from bot.wiring import build_deps
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.tickets.local import LocalTickets
from tests.agent_harness import aimed_settings, fake_client
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer

FIXTURE = str(Path(__file__).resolve().parents[1] / "fakes" / "mcp_fixture.py")
ADMIN = "U0ADMIN"
ALICE = Actor(user_id="U0ALICE", team_id="T01", channel_id="C0GENERAL", channel_type="public", name="Alice")
VIEWER = Actor(user_id="U0VIEWER", team_id="T01", channel_id="C0GENERAL", channel_type="public", name="Vic")
THREAD = ThreadRef(team_id="T01", channel_id="C0GENERAL", thread_ts="1700000000.000100")

POLICY = """
roles:
  member:
    tools: [read, write, "mcp:fx:*", "mcp:time:*", "mcp:git:*", "mcp:web:*"]
    projects: ["*"]
    confirm: [write]
  viewer:
    tools: [read]
    projects: ["*"]
assignments:
  U0VIEWER: viewer
mcp_toolsets:
  "mcp:git:*": [C0DEVOPS, im]
mcp_effects:
  "mcp:fx:crash": read
"""


def stdio(*args: str, timeout: float | None = None) -> dict[str, Any]:
    """A stdio server entry running `python <args>`."""
    entry: dict[str, Any] = {"command": sys.executable, "args": list(args)}
    if timeout is not None:
        entry["timeout"] = timeout
    return entry


def fixture_stdio(timeout: float | None = None) -> dict[str, Any]:
    """The SDK-built fixture over stdio."""
    return stdio(FIXTURE, "stdio", timeout=timeout)


def git_repo(path: Path) -> Path:
    """A git repository with one commit."""
    path.mkdir()
    for cmd in (["init", "-q", "-b", "main"], ["config", "user.email", "t@example.com"], ["config", "user.name", "Test"]):
        subprocess.run(["git", *cmd], cwd=path, check=True)
    (path / "README.md").write_text("hello\n")
    subprocess.run(["git", "add", "README.md"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "first"], cwd=path, check=True)
    return path


class HttpFixture:
    """The fixture as a streamable-HTTP server process on 127.0.0.1, asking for the header X-Fixture-Key."""

    def __init__(self, *, key: str = "s3cret", notify: bool = True) -> None:
        self.key = key
        self.notify = notify
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> HttpFixture:
        """Start (again, on the same port after the first time)."""
        args = [sys.executable, FIXTURE, "http", "--port", str(self.port), "--key", self.key]
        if not self.notify:
            args.append("--no-notify")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.port = int(line.split()[1])
        return self

    @property
    def url(self) -> str:
        """The MCP endpoint."""
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        """Stop the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def __enter__(self) -> HttpFixture:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class McpWorld:
    """The agent with MCP servers attached."""

    deps: Deps
    agent: Agent
    server: AnthropicServer
    progress: list[ProgressEvent] = field(default_factory=list)

    async def ask(self, text: str = "go", *, actor: Actor = ALICE, thread: ThreadRef = THREAD) -> TurnResult:
        """One turn, collecting progress events."""

        async def on_progress(event: ProgressEvent) -> None:
            self.progress.append(event)

        return await self.agent.run_turn(actor=actor, thread=thread, text=text, on_progress=on_progress)

    async def enable(self, *servers: str) -> None:
        """An admin enables these servers (approving their tools as listed now)."""
        for name in servers:
            await change_trust(self.deps, actor_id=ADMIN, server=name, action="enable")

    def offered(self, request: int = -1) -> list[str]:
        """The tool names sent to the model in a request."""
        return [t["name"] for t in self.server.bodies()[request].get("tools", [])]

    def results(self, request: int = -1) -> list[dict[str, Any]]:
        """The tool_result blocks of a request's last message."""
        return [b for b in self.server.bodies()[request]["messages"][-1]["content"] if b["type"] == "tool_result"]

    async def restart(self, *, wait: float = 40.0) -> None:
        """The bot process stops (its MCP servers and model client closed) and starts again on the same database."""
        old = self.deps
        if old.mcp is not None:
            await old.mcp.stop()
        assert old.llm is not None
        await old.llm.aclose()
        self.deps = await start_process(old.settings, old.db, old.clock, wait=wait)
        self.agent = self.deps.agent

    async def close(self) -> None:
        """Stop the servers and clients."""
        if self.deps.mcp is not None:
            await self.deps.mcp.stop()
        assert self.deps.llm is not None
        await self.deps.llm.aclose()


async def make_world(
    tmp_path: Path,
    settings: Settings,
    database: Database,
    server: AnthropicServer,
    clock: FixedClock,
    servers: dict[str, Any],
    *,
    policy: str = POLICY,
    wait: float = 40.0,
    **overrides: Any,
) -> McpWorld:
    """A process started by `build_deps` (policy bootstrap, then the MCP servers, waiting up to `wait` s)."""
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": servers}))
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy)
    s = aimed_settings(settings, server, chatops_mcp_config=config, chatops_policy_file=policy_file, chatops_admins=[ADMIN], **overrides)
    deps = await start_process(s, database, clock, wait=wait)
    return McpWorld(deps=deps, agent=deps.agent, server=server)


async def start_process(settings: Settings, database: Database, clock: Clock, *, wait: float = 40.0) -> Deps:
    """One bot process on `database` with these settings (the local store, the fake model, no Slack)."""
    return await build_deps(
        settings,
        db=database,
        tickets=LocalTickets(database, clock=clock),
        llm=AnthropicLLM.from_config(llm_config(settings), client=fake_client(settings)),
        clock=clock,
        slack=None,
        mcp_wait=wait,
    )


def lines(caplog: Any, text: str) -> list[str]:
    """Log messages containing `text`."""
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


