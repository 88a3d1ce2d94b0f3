"""Start-up (issue #12: a fast start; `python -m benchmarks startup` prints the figures): the modules `chatops run`
imports leave the SDKs of optional parts (MCP servers, other model providers, the OpenTelemetry SDK) unloaded
until a setting asks for them; the garbage collector is off while a command starts and, once run/shell have built
their parts, back on with what start-up built frozen (never walked again, not even at exit); `python -m bot`
freezes what a command made before the interpreter exits."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main, settled
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RUN_PATH = ["bot.cli", "bot.wiring", "bot.slack.server", "bot.slack.app", "bot.slack.workers", "bot.slack.recovery"]
OPTIONAL = ["mcp", "mcp_types", "jsonschema", "openai", "botocore", "google.auth", "opentelemetry.sdk"]


def test_the_modules_chatops_run_imports_leave_the_optional_sdks_unloaded() -> None:
    script = (
        f"import importlib, json, sys\nfor m in {RUN_PATH!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {OPTIONAL!r} if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)

    assert json.loads(out.stdout) == []


async def test_once_the_parts_are_built_the_collector_is_back_on_and_what_start_up_built_is_frozen(settings: Settings) -> None:
    built = object()

    async def build(given: Settings, **overrides: Any) -> Any:
        assert given is settings and overrides == {"slack": None}
        assert not gc.isenabled()
        return built

    gc.disable()
    frozen = gc.get_freeze_count()
    try:
        assert await settled(build)(settings, slack=None) is built
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen
    finally:
        gc.enable()


def test_a_start_up_that_fails_leaves_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")  # no SLACK_BOT_TOKEN: refused before anything is built

    assert main(["run", "--http", "--port", "0"]) == 2

    assert gc.isenabled()


def test_python_m_bot_freezes_what_the_command_made_before_the_interpreter_exits(tmp_path: Path) -> None:
    script = (
        "import atexit, gc, runpy, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "sys.argv = ['bot', 'manifest']\n"
        "runpy.run_module('bot', run_name='__main__', alter_sys=True)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ANTHROPIC_", "CHATOPS_", "JIRA_", "DATABASE_URL"))}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)

    assert out.returncode == 0, out.stderr
    assert "frozen at exit: True" in out.stdout
