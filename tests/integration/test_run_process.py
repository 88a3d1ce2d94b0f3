"""`chatops run --http --port N` as a real process: the stable interface outside checks rely on.

Settings come from the environment only (SLACK_API_URL and ANTHROPIC_BASE_URL point at the fakes); the process
serves GET /healthz and POST /slack/events, answers a signed mention in its thread through the real tools on the
demo store, and exits 0 on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.fakes.slack_payloads import event_callback, mention, signed_headers
from tests.fakes.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
ALICE = "U0ALICE"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """A `python -m bot run --http` child; `ready` is set when its log says it is serving."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int, extra: list[str] | None = None) -> None:
        self.port = port
        self.ready = threading.Event()
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--http", "--host", "127.0.0.1", "--port", str(port), *(extra or [])],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            if "serving HTTP" in line:
                self.ready.set()
        self.ready.set()  # the process ended: wake the waiter, which checks returncode

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=40)


@pytest.fixture(name="slack", scope="module")
def fixture_slack() -> Iterator[FakeSlack]:
    server = FakeSlack()
    server.add_channel("C0OPS", name="ops")
    server.add_user(ALICE, name="Alice Doe", email="alice@example.com")
    with server:
        yield server


@pytest.fixture(name="model", scope="module")
def fixture_model() -> Iterator[AnthropicServer]:
    with AnthropicServer() as server:
        yield server


@pytest.fixture(name="bot", scope="module")
def fixture_bot(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack, model: AnthropicServer) -> Iterator[BotProcess]:
    """One bot process for the module (starting one costs seconds); the SIGTERM test runs last."""
    tmp_path = tmp_path_factory.mktemp("run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATOPS_", "SLACK_", "JIRA_", "DATABASE_URL"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": FakeSlack.BOT_TOKEN,
            "SLACK_SIGNING_SECRET": FakeSlack.SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "ANTHROPIC_BASE_URL": model.url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "CHATOPS_ADMINS": ALICE,
        }
    )
    bot = BotProcess(env, tmp_path, _free_port())
    assert bot.ready.wait(60), "the bot did not start"
    assert bot.proc.poll() is None, "".join(bot.log)
    yield bot
    bot.stop()


def test_healthz_answers_200_when_the_database_answers(bot: BotProcess) -> None:
    status, body = bot.request("GET", "/healthz")
    assert status == 200
    assert json.loads(body)["database"] == "up"


def test_start_up_does_not_warn_about_a_token_bolt_never_uses(bot: BotProcess) -> None:
    assert bot.log and not any("will be unused" in line for line in bot.log)


def test_an_unsigned_event_is_rejected(bot: BotProcess) -> None:
    status, _ = bot.request("POST", "/slack/events", b"{}", {"content-type": "application/json"})
    assert status == 401


def test_a_signed_mention_is_answered_in_its_thread_and_sigterm_exits_cleanly(
    bot: BotProcess, slack: FakeSlack, model: AnthropicServer
) -> None:
    model.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]),
        text_reply("OPS-1 is the certificate rotation."),
    )
    ts = slack.post_user_message("C0OPS", user=ALICE, text=f"<@{FakeSlack.BOT_USER_ID}> what is OPS-1?")
    event = mention(channel="C0OPS", user=ALICE, text=f"<@{FakeSlack.BOT_USER_ID}> what is OPS-1?", ts=ts)
    body = json.dumps(event_callback(event))
    status, _ = bot.request("POST", "/slack/events", body.encode(), signed_headers(body))
    assert status == 200

    slack.wait_call("chat.stopStream", timeout=30)
    replies = [m for m in slack.thread("C0OPS", ts) if m.ts != ts]
    assert replies, "no answer in the thread"
    assert any("certificate rotation" in json.dumps(vars(m), default=str) for m in replies)
    tool_result = model.bodies()[1]["messages"][-1]["content"][0]
    assert tool_result["is_error"] is False and "OPS-1" in tool_result["content"]

    assert bot.stop() == 0
