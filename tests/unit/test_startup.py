"""Start-up (issue #12: a fast start; `python -m benchmarks startup` prints the figures): the modules `chatops run`
imports leave the SDKs of optional parts (MCP servers, other model providers, the OpenTelemetry SDK) unloaded
until a setting asks for them; the garbage collector is off while a long-running command starts and, once its
parts are built, back on with what start-up built frozen (never walked again, not even at exit)."""

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
    try:
        assert await settled(build)(settings, slack=None) is built
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_start_up_that_fails_leaves_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")  # no SLACK_BOT_TOKEN: refused before anything is built

    assert main(["run", "--http", "--port", "0"]) == 2

    assert gc.isenabled()
