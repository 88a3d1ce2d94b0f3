"""`chatops run --http --workers N` as real processes: two workers on one port answer each event once (on
PostgreSQL), and SQLite refuses more than one worker with a clear message."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.cli import main
from tests.fakes.anthropic_server import AnthropicServer, Reply
from tests.fakes.slack_payloads import event_callback, mention, signed_headers
from tests.fakes.slack_server import FakeSlack
from tests.integration.test_run_process import ALICE, ROOT, BotProcess, _free_port

PG_URL = os.environ.get("TEST_DATABASE_URL")
EVENTS = 12


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


@pytest.fixture
def schema_url() -> Iterator[str]:
    """A DATABASE_URL on a fresh PostgreSQL schema (dropped after)."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: two workers need PostgreSQL")
    schema = f"w_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.timeout(240)  # three processes start (seconds each on a busy machine); nothing here is timed
def test_two_workers_share_one_port_and_answer_each_event_once(tmp_path: Path, schema_url: str) -> None:
    with FakeSlack() as slack, AnthropicServer() as model:
        slack.add_channel("C0OPS", name="ops")
        slack.add_user(ALICE, name="Alice Doe", email="alice@example.com")
        model.respond_with(lambda body: Reply(content=["Done."]))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATOPS_", "SLACK_", "JIRA_", "DATABASE_URL", "PROMETHEUS_"))}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "SLACK_BOT_TOKEN": FakeSlack.BOT_TOKEN,
                "SLACK_SIGNING_SECRET": FakeSlack.SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                "ANTHROPIC_API_KEY": "sk-ant-test",
                "ANTHROPIC_BASE_URL": model.url,
                "DATABASE_URL": schema_url,
            }
        )
        bot = BotProcess(env, tmp_path, _free_port(), extra=["--workers", "2"])
        try:
            assert bot.ready.wait(90), "the workers did not start"
            assert bot.proc.poll() is None, "".join(bot.log)
            workers = _children(bot.proc.pid)
            assert len(workers) == 2, workers

            asked = []
            for i in range(EVENTS):
                ts = slack.post_user_message("C0OPS", user=ALICE, text=f"<@{FakeSlack.BOT_USER_ID}> status {i}?")
                body = json.dumps(event_callback(mention(channel="C0OPS", user=ALICE, text="status?", ts=ts), event_id=f"Ev{i:04d}W"))
                # every event twice, on separate connections: the retry may reach the other worker
                assert bot.request("POST", "/slack/events", body.encode(), signed_headers(body))[0] == 200
                retry = {**signed_headers(body), "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
                assert bot.request("POST", "/slack/events", body.encode(), retry)[0] == 200
                asked.append(ts)

            slack.wait_call("chat.postMessage", count=EVENTS, timeout=60)  # "Done.": one post each
            status, metrics = bot.request("GET", "/metrics")
            assert status == 200
            assert bot.stop() == 0
        finally:
            if bot.proc.poll() is None:
                bot.proc.kill()

        answers = [c.args["thread_ts"] for c in slack.calls("chat.postMessage")]
        assert sorted(answers) == sorted(asked)  # each event answered, none twice
        assert len(model.bodies()) == EVENTS
        # the metrics of both workers, whichever answered the scrape
        assert f'chatops_turns_total{{outcome="answered"}} {float(EVENTS)}' in metrics
        assert all(not _alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sqlite_refuses_more_than_one_worker(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")

    assert main(["run", "--http", "--port", "0", "--workers", "2"]) == 2

    err = capsys.readouterr().err
    assert "SQLite" in err and "PostgreSQL" in err and "--workers 1" in err
    assert "Traceback" not in err
