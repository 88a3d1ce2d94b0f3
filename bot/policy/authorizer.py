"""`PolicyAuthorizer`: the Authorizer of the running app. Resolves facts, then asks the pure `decide`.

Facts never come from the model: the actor is the Slack identity in `ToolContext.actor`; each ticket key is looked
up in the ticket system for its real project (an unknown or unreadable key is denied exactly like a forbidden
one); project privacy comes from the ticket system and the policy. Denials are logged with their precise cause
(operators only); the Decision's reason stays safe to show in the channel.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel

from bot.authz import Decision
from bot.errors import NotFound, PermissionDenied
from bot.logs import get_logger, log_event
from bot.policy.catalog import ProjectCatalog
from bot.policy.decide import Facts, decide, grant_outcome, mcp_gate, visible_set
from bot.policy.live import LivePolicy, PolicyState

if TYPE_CHECKING:
    from bot.tools.base import Actor, Tool, ToolContext
    from integrations.tickets.base import TicketBackend

logger = get_logger("policy")


class PolicyAuthorizer:
    """Decides every call from the live policy (reloaded when the configuration version moves)."""

    def __init__(self, *, live: LivePolicy, catalog: ProjectCatalog) -> None:
        self.live = live
        self.catalog = catalog

    async def offered_tools(self, actor: Actor, tools: list[Tool]) -> list[Tool]:
        """Tools this actor's role may use at all (switched-off and ungranted tools are never offered)."""
        state = await self.live.current()
        role = state.role_of(actor.user_id)
        policy = state.policy
        return [
            t
            for t in tools
            if grant_outcome(policy, role, t.policy_name, t.effect.value) != "deny" and mcp_gate(policy, actor, t) is None
        ]

    async def visible_projects(self, actor: Actor) -> frozenset[str] | None:
        """The role's projects ∩ what this channel may show; None when both are unrestricted."""
        state = await self.live.current()
        role = state.policy.roles.get(state.role_of(actor.user_id))
        if role is None:
            return frozenset()
        channel_scope = state.policy.channel_scopes.scope_for(
            channel_id=actor.channel_id, channel_type=actor.channel_type
        )
        catalog = await self.catalog.get()
        return visible_set(
            role.projects,
            channel_scope,
            known=catalog.known,
            public=catalog.public(state.policy.private_projects),
        )

    async def authorize(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> Decision:
        """Allow, deny or ask for confirmation of one validated call, as the Slack identity in `ctx.actor`."""
        state = await self.live.current()
        return await self.check(state, ctx.actor, tool, args, tickets=ctx.deps.tickets)

    async def check(
        self, state: PolicyState, actor: Actor, tool: Tool, args: BaseModel, *, tickets: TicketBackend
    ) -> Decision:
        """The decision under a given policy state (the approvals UI re-checks with the newest one)."""
        role = state.role_of(actor.user_id)
        if grant_outcome(state.policy, role, tool.policy_name, tool.effect.value) == "deny" or tool.source is not None:
            # Decided without touching the ticket system: a tool the role may never use needs no lookups, and an
            # MCP tool touches no tickets.
            decision = decide(state.policy, actor, tool, args, Facts(role=role))
            if decision.outcome == "deny":
                self._log_denial(actor, tool, decision, detail="not granted" if tool.source is None else decision.rule)
            return decision
        keys, _projects = tool.targets(args)
        resolved = await asyncio.gather(*(_real_project(tickets, key) for key in keys))
        catalog = await self.catalog.get()
        facts = Facts(
            role=role,
            ticket_projects=dict(zip(keys, resolved, strict=True)),
            public_projects=catalog.public(state.policy.private_projects),
        )
        decision = decide(state.policy, actor, tool, args, facts)
        if decision.outcome == "deny":
            detail = ", ".join(f"{k}→{p or 'unknown'}" for k, p in facts.ticket_projects.items())
            self._log_denial(actor, tool, decision, detail=detail or "project scope")
        return decision

    @staticmethod
    def _log_denial(actor: Actor, tool: Tool, decision: Decision, *, detail: str) -> None:
        log_event(
            logger,
            "call denied",
            level=logging.WARNING,
            user=actor.user_id,
            channel=actor.channel_id,
            channel_type=actor.channel_type,
            tool=tool.name,
            rule=decision.rule,
            detail=detail,
        )


async def _real_project(tickets: TicketBackend, key: str) -> str | None:
    """The project the ticket is really in; None when it does not exist or the ticket system refuses it.

    Other failures (ticket system down, rate limited) propagate: the call could not run anyway, and the
    model should hear that the ticket system is unavailable rather than that it is not permitted.
    """
    try:
        ticket = await tickets.get_ticket(key)
    except (NotFound, PermissionDenied):
        return None
    return ticket.project
