"""`python -m bot shell` as a subprocess: real settings from the environment, real deps (local demo tickets on a
SQLite file, the real tools), the real anthropic SDK against the fake Messages API; questions piped on stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.messages import agent as agent_text
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(name="server")
def server_fixture() -> Iterator[AnthropicServer]:
    with AnthropicServer() as srv:
        yield srv


def run_shell(tmp_path: Path, stdin: str, *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATOPS_", "SLACK_", "JIRA_", "DATABASE_URL"))}
    base.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'shell.db'}", "CHATOPS_MODEL": "claude-sonnet-4-6"})
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--user", "U1", "--name", "Maya Chen"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=base,
        timeout=60,
    )


def test_piped_questions_are_answered_with_a_trace_and_the_shell_exits_at_eof(tmp_path: Path, server: AnthropicServer) -> None:
    server.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]),
        text_reply("OPS-1 is about rotating TLS certificates."),
        text_reply("You're welcome."),
    )
    env = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.url, "CHATOPS_LLM_RETRY_BASE_SECONDS": "0.01"}
    done = run_shell(tmp_path, "What is OPS-1?\n\nThanks!\n", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "OPS-1 is about rotating TLS certificates." in lines
    trace = [line for line in lines if line.startswith("  · get_ticket")]
    assert len(trace) == 1 and "key='OPS-1'" in trace[0] and trace[0].endswith("· ok")
    assert "You're welcome." in lines
    bodies = server.bodies()
    assert len(bodies) == 3
    assert "get_ticket" in [t["name"] for t in bodies[0]["tools"]]
    tool_result = bodies[1]["messages"][-1]["content"][0]
    assert tool_result["is_error"] is False and "OPS-1" in tool_result["content"]
    assert "Maya Chen (Slack user U1)" in bodies[0]["messages"][0]["content"][0]["text"]
    assert len(bodies[2]["messages"]) == 5  # the second question continues the same conversation


def test_without_an_api_key_it_says_what_to_set_and_exits_2(tmp_path: Path) -> None:
    done = run_shell(tmp_path, "hello\n", env={})
    assert done.returncode == 2
    assert agent_text.missing_api_key() in done.stderr
