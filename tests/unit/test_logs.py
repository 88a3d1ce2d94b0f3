"""Logs: `--log-format json` gives one JSON object per line with the record's fields; libraries that would log
request bodies and headers stay quiet even at DEBUG."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.logs import configure_logging, get_logger, log_event
from bot.settings import Settings


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    """configure_logging replaces the root handlers: put pytest's (and the levels) back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("anthropic", "httpx", "httpx2", "httpcore", "urllib3", "jira")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in quiet.items():
        logging.getLogger(name).setLevel(lvl)


def test_json_format_from_the_command_line_gives_one_object_per_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'logs.db'}")
    assert main(["--log-format", "json", "policy", "show"]) == 0
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert lines, "expected at least the line saying the configuration was read"
    records = [json.loads(line) for line in lines]
    read = [r for r in records if r["msg"] == "configuration read (read-only)"]
    assert read and read[0]["logger"] == "chatops.policy" and read[0]["version"] == 0
    assert {"ts", "level", "logger", "msg"} <= read[0].keys()


def test_structured_fields_are_keys_of_the_json_object(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(_env_file=None, chatops_log_format="json"))  # type: ignore[call-arg]
    log_event(get_logger("agent"), "tool call", tool="get_ticket", ms=12.5, outcome="ok")
    [line] = [x for x in capfd.readouterr().err.splitlines() if x.strip()]
    record = json.loads(line)
    assert (record["tool"], record["ms"], record["outcome"]) == ("get_ticket", 12.5, "ok")


def test_http_libraries_stay_at_warning_even_when_the_bot_logs_debug() -> None:
    configure_logging(Settings(_env_file=None, chatops_log_level="DEBUG"))  # type: ignore[call-arg]
    assert logging.getLogger().level == logging.DEBUG
    for name in ("anthropic", "httpx", "httpx2", "httpcore", "urllib3", "jira"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
