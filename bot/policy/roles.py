"""Who has which role. (Stub: the policy work, issue #4, stores assignments in the database.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.deps import Deps


async def role_of(deps: Deps, user_id: str) -> str:
    """The role of a Slack user: admin when listed in CHATOPS_ADMINS, else the default role."""
    if user_id in deps.settings.chatops_admins:
        return "admin"
    return deps.settings.chatops_default_role
