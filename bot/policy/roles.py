"""Who has which role: CHATOPS_ADMINS, then the assignments stored in the database, then the default role."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.policy.live import live_policy

if TYPE_CHECKING:
    from bot.deps import Deps


async def role_of(deps: Deps, user_id: str) -> str:
    """The role of a Slack user under the current configuration."""
    return (await live_policy(deps).current()).role_of(user_id)


async def is_admin(deps: Deps, user_id: str) -> bool:
    """True for chatops admins (CHATOPS_ADMINS or the admin role), who may decide any approval and configure."""
    return (await live_policy(deps).current()).is_admin(user_id)
