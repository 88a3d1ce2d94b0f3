"""The admin-only configuration modal behind `/chatops config`. (Stub: filled in by issue #4.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps


async def open_config_modal(client: Any, deps: Deps, *, user_id: str, trigger_id: str) -> str | None:
    """Open the modal for an admin; return an ephemeral refusal text for anyone else (None when opened)."""
    return "Configuration is not available yet."


def register_admin_handlers(app: AsyncApp, deps: Deps) -> None:
    """Register the modal's view_submission / block_actions handlers."""
