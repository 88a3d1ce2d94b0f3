"""Approve/Cancel buttons for writes that need confirmation. (Stub: filled in by the policy work, issue #4.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.agent.loop import Agent
    from bot.agent.types import PendingAction
    from bot.deps import Deps


def approval_blocks(pending: PendingAction) -> list[dict[str, Any]]:
    """Blocks that state the exact action and carry Approve / Cancel buttons."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": pending.description}}]


def register_approval_handlers(app: AsyncApp, deps: Deps, agent: Agent) -> None:
    """Register the Approve / Cancel action handlers."""
