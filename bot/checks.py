"""What one `chatops doctor` check reports (`bot/doctor.py` runs them; `bot/mcp/doctor.py` adds the MCP ones)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One check's outcome: `fix` says what to do when it failed."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
