"""A fake server in a child process, so its CPU is not counted as the bot's (benchmarks that time the bot's CPU)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def child_server(source: str) -> Iterator[str]:
    """Run `source` (Python that starts a server, prints its URL on one line and serves until stdin closes) in a child
    process from the repository root; yields the URL it printed, and stops it on exit."""
    proc = subprocess.Popen([sys.executable, "-c", source], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
