"""Who has which role: CHATOPS_ADMINS, then the assignments stored in the database, then the default role."""

from __future__ import annotations

from bot.policy.live import WithLivePolicy


async def role_of(deps: WithLivePolicy, user_id: str) -> str:
    """The role of a Slack user under the current configuration."""
    return (await deps.live.current()).role_of(user_id)


async def is_admin(deps: WithLivePolicy, user_id: str) -> bool:
    """True for chatops admins (CHATOPS_ADMINS or the admin role), who may decide any approval and configure."""
    return (await deps.live.current()).is_admin(user_id)
