"""Start-up loads only what the common path uses: the modules `chatops run` imports leave the SDKs of optional
parts (MCP servers, other model providers, the OpenTelemetry SDK) unloaded until a setting asks for them
(issue #12: a fast start; `python -m benchmarks startup` prints the figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
