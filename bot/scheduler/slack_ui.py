"""Slack side of schedules: `/chatops digest ...` and the schedule editor. (Stub: issue #6.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps


async def handle_digest_command(client: Any, deps: Deps, *, user_id: str, channel_id: str, text: str) -> str:
    """Handle `/chatops digest <args>`; return the ephemeral reply text."""
    return "Digests are not available yet."


def register_schedule_handlers(app: AsyncApp, deps: Deps) -> None:
    """Register the schedule editor's handlers."""
