"""`chatops manifest`: manifest.yml with `features.unfurl_domains` set for this installation.

Slack sends `link_shared` only for links on the app's unfurl domains, so they must name the team's Jira host (from
JIRA_URL) and, for the built-in store, the bot's own public host (CHATOPS_PUBLIC_URL). The checked-in manifest.yml
carries a placeholder; this command prints it with the domains of the current settings, comments kept.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.slack.work_objects import unfurl_domains

if TYPE_CHECKING:
    from bot.settings import Settings

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.yml"
_KEY = "  unfurl_domains:"


def manifest_for(settings: Settings, template: str) -> str:
    """The manifest text with its unfurl_domains list replaced by this installation's domains (unchanged when
    the settings name none)."""
    domains = unfurl_domains(settings)
    lines = template.splitlines()
    if not domains or not any(line.startswith(_KEY) for line in lines):
        return template
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith(_KEY):
            out.append(_KEY + "   # from JIRA_URL / CHATOPS_PUBLIC_URL (chatops manifest)")
            out.extend(f"    - {domain}" for domain in domains)
            skipping = True
            continue
        if skipping and line.startswith("    - "):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out) + "\n"


def run_manifest(settings: Settings, *, output: TextIO | None = None) -> int:
    """Print the manifest for these settings; say on stderr when no unfurl domain is configured."""
    out = output or sys.stdout
    if not unfurl_domains(settings):
        print(
            "No unfurl domain configured: set JIRA_URL (Jira) or CHATOPS_PUBLIC_URL (built-in store) so ticket links "
            "unfurl; printing manifest.yml unchanged.",
            file=sys.stderr,
        )
    out.write(manifest_for(settings, MANIFEST_PATH.read_text(encoding="utf-8")))
    return 0
