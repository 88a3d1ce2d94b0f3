"""Snapshot assertions: a value is compared with `tests/snapshots/<name>.json`, committed beside the tests.

A changed prompt, tool schema or Block Kit payload then shows up as a reviewed diff. To accept a change, run the
test with SNAPSHOT_UPDATE=1 and commit the rewritten file; a missing snapshot fails (so CI never invents one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def assert_snapshot(name: str, value: Any) -> None:
    """Assert `value` (JSON-able) equals the stored snapshot `name`."""
    path = SNAPSHOTS / f"{name}.json"
    text = _dump(value)
    if os.environ.get("SNAPSHOT_UPDATE") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no snapshot {path.name}: run with SNAPSHOT_UPDATE=1 to write it, then review and commit"
    stored = path.read_text(encoding="utf-8")
    assert text == stored, f"{path.name} changed: review the diff, then accept with SNAPSHOT_UPDATE=1"
