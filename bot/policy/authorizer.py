"""Builds the Authorizer for the running app. (Placeholder: the policy work, issue #4, replaces AllowAll.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.authz import AllowAll, Authorizer

if TYPE_CHECKING:
    from bot.deps import Deps


async def build_authorizer(deps: Deps) -> Authorizer:
    """The authorizer for these deps."""
    return AllowAll()
