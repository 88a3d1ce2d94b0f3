"""The tools offered for one request: the built-in tools plus the MCP tools the actor may use here, with the MCP
tools' definitions kept within a byte budget (CHATOPS_MCP_TOOLS_BUDGET_BYTES).

Authorization decides first (`Authorizer.offered_tools`: grants, per-channel toolsets, approved fingerprints);
then MCP tools are taken in name order (a stable prompt prefix) while their JSON definitions fit the budget.
What is left out, and why, is logged, and `chatops doctor` reports it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.logs import get_logger, log_event
from bot.mcp.tools import Withheld
from bot.tools.base import Actor, Tool

if TYPE_CHECKING:
    from bot.authz import Authorizer
    from bot.mcp.hub import McpHub
    from bot.policy.live import LivePolicy

logger = get_logger("mcp.catalogue")


@dataclass(frozen=True)
class Catalogue:
    """The tools of one request, and the MCP tools not offered (withheld or over the budget)."""

    tools: list[Tool]
    withheld: list[Withheld]
    mcp_bytes: int = 0


def spec_bytes(tool: Tool) -> int:
    """The size of a tool's definition as the model receives it."""
    spec = tool.spec()
    return len(json.dumps({"name": spec.name, "description": spec.description, "input_schema": spec.input_schema}, separators=(",", ":")).encode())


def within_budget(tools: list[Tool], budget: int) -> tuple[list[Tool], list[Withheld], int]:
    """Keep MCP tools, in name order, while their definitions fit in `budget` bytes; built-in tools always stay."""
    kept: list[Tool] = []
    left: list[Withheld] = []
    used = 0
    for t in sorted(tools, key=lambda t: (t.source is not None, t.name if t.source is not None else "")):
        if t.source is None:
            kept.append(t)
            continue
        size = spec_bytes(t)
        if used + size > budget:
            left.append(Withheld(t.source.server, t.source.tool, f"over the catalogue budget ({size} bytes; {used} of {budget} used)"))
            continue
        used += size
        kept.append(t)
    return kept, left, used


class CatalogueParts(Protocol):
    """What building a request's tools needs: the built-in tools, the MCP hub, the authorizer and the live policy."""

    @property
    def tools(self) -> list[Tool]: ...
    @property
    def mcp(self) -> McpHub | None: ...
    @property
    def authorizer(self) -> Authorizer: ...
    @property
    def live(self) -> LivePolicy: ...


async def turn_tools(deps: CatalogueParts, actor: Actor) -> Catalogue:
    """Every tool this actor is offered here for this request."""
    hub = deps.mcp
    if hub is None:
        return Catalogue(await deps.authorizer.offered_tools(actor, deps.tools), [])
    state = await deps.live.current()
    await hub.before_turn()
    mcp_tools, withheld = hub.tools(state.policy)
    offered = await deps.authorizer.offered_tools(actor, [*deps.tools, *mcp_tools])
    kept, left, used = within_budget(offered, state.settings.chatops_mcp_tools_budget_bytes)
    if left:
        log_event(
            logger,
            "mcp tools left out of the request",
            level=logging.WARNING,
            user=actor.user_id,
            channel=actor.channel_id,
            budget=state.settings.chatops_mcp_tools_budget_bytes,
            left_out=", ".join(f"{w.server}:{w.tool}" for w in left)[:500],
        )
    return Catalogue(kept, [*withheld, *left], used)
