"""The authorization seam: one decision point before every tool call, and the per-actor tool filter.

`Authorizer.authorize` is called from one place, `bot.agent.checks.authorize_call` (an authorizer that breaks
denies): once per call before it runs, again when a call that waited for Approve is approved, and for the surfaces'
checks (a slash command's pre-check, the approvals' re-check at the click, link unfurls). The policy
implementation lives in `bot/policy/`; `AllowAll` is the default until a policy is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel

if TYPE_CHECKING:
    from bot.tools.base import Actor, Tool, ToolContext

Outcome = Literal["allow", "deny", "confirm"]


@dataclass(frozen=True)
class Decision:
    """The result of authorizing one call. `reason` is for the trace and audit log, not the model."""

    outcome: Outcome
    reason: str = ""
    rule: str = ""

    @property
    def allowed(self) -> bool:
        """True when the call may run now."""
        return self.outcome == "allow"


ALLOW = Decision("allow", "allowed", "default")


class Authorizer(Protocol):
    """Decides who may call what. Implementations must not trust anything the model produced."""

    async def offered_tools(self, actor: Actor, tools: list[Tool]) -> list[Tool]:
        """The tools this actor may ever use here, in the given (stable) order."""
        ...

    async def visible_projects(self, actor: Actor) -> frozenset[str] | None:
        """Projects whose tickets may be shown to this actor in this channel; None for no restriction."""
        ...

    async def authorize(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> Decision:
        """Allow, deny, or ask for confirmation of one validated call."""
        ...


class AllowAll:
    """Allows everything; the seam's default."""

    async def offered_tools(self, actor: Actor, tools: list[Tool]) -> list[Tool]:
        """Every tool."""
        return list(tools)

    async def visible_projects(self, actor: Actor) -> frozenset[str] | None:
        """No restriction."""
        return None

    async def authorize(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> Decision:
        """Always allow."""
        return ALLOW
