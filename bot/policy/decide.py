"""The one decision: may this actor make this call here? A pure function of the policy and resolved facts.

Everything that needs I/O (the actor's role, each ticket key's real project, which projects are public) is
resolved beforehand by `bot/policy/authorizer.py` into `Facts`; `decide` only reads. Reasons go into the trace,
which the channel sees, so a denial never says whether a ticket exists or which project it is really in: an
unknown key and a ticket in a forbidden project read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from bot.authz import Decision, Outcome
from bot.policy.model import ALL, Policy, in_scope
from bot.tools.base import Actor, Tool


@dataclass(frozen=True)
class Facts:
    """What the authorizer resolved before deciding. Nothing here comes from the model."""

    role: str
    """The actor's role (from the database, CHATOPS_ADMINS or the default role)."""
    ticket_projects: Mapping[str, str | None] = field(default_factory=dict)
    """Each ticket key of the call → its real project; None when it does not exist or cannot be read."""
    public_projects: frozenset[str] = frozenset()
    """Projects known to exist and not be private (the ticket system's flag and the policy's list)."""


def grant_outcome(policy: Policy, role_name: str, tool_name: str, effect: str) -> Outcome:
    """The outcome of a call that touches no forbidden project: what `chatops policy show` prints."""
    role = policy.roles.get(role_name)
    if role is None or not policy.tool_enabled(tool_name, effect) or not role.grants(tool_name, effect):
        return "deny"
    return "confirm" if role.needs_confirmation(tool_name, effect) else "allow"


def mcp_gate(policy: Policy, actor: Actor, tool: Tool) -> Decision | None:
    """For a tool from an MCP server: a denial unless its server is enabled, the tool approved and switched on,
    its definition unchanged since the approval, and it is offered in this channel. None for other tools."""
    source = tool.source
    if source is None:
        return None
    trust = policy.mcp_trust.get(source.server)
    if trust is None or not trust.enabled:
        return Decision("deny", f"MCP server {source.server} is not enabled", "mcp-server")
    approved = trust.tools.get(source.tool)
    if approved is None:
        return Decision("deny", f"{tool.name} has not been approved by an admin", "mcp-unapproved")
    if not approved.enabled:
        return Decision("deny", f"{tool.name} is switched off", "tool-disabled")
    if approved.fingerprint != source.fingerprint:
        return Decision("deny", f"{tool.name} changed since an admin approved it", "mcp-changed")
    if not policy.mcp_offered_in(source.pattern, channel_id=actor.channel_id, channel_type=actor.channel_type):
        return Decision("deny", f"{tool.name} is not offered in this channel", "mcp-channel")
    return None


def decide(policy: Policy, actor: Actor, tool: Tool, args: BaseModel, facts: Facts) -> Decision:
    """Allow, deny or ask for confirmation of one validated call."""
    role = policy.roles.get(facts.role)
    if role is None:
        return Decision("deny", f"role {facts.role!r} is not defined", "unknown-role")
    effect = tool.effect.value
    name = tool.policy_name
    if not policy.tool_enabled(name, effect):
        return Decision("deny", f"{tool.name} is switched off", "tool-disabled")
    gate = mcp_gate(policy, actor, tool)
    if gate is not None:
        return gate
    if not role.grants(name, effect):
        return Decision("deny", f"role {facts.role} may not use {tool.name}", "role-tools")

    channel_scope = policy.channel_scopes.scope_for(channel_id=actor.channel_id, channel_type=actor.channel_type)
    keys, projects = tool.targets(args)
    for key in keys:
        project = facts.ticket_projects.get(key)
        if project is None or not _visible(project, role.projects, channel_scope, facts.public_projects):
            return Decision("deny", f"{key} is not available to you here", "ticket-scope")
    for project in projects:
        if not _visible(project, role.projects, channel_scope, facts.public_projects):
            return Decision("deny", f"project {project} is not available to you here", "project-scope")

    if role.needs_confirmation(name, effect):
        return Decision("confirm", f"role {facts.role}: {tool.name} needs confirmation", "confirm")
    return Decision("allow", f"role {facts.role} may use {tool.name}", "role-tools")


def _visible(project: str, role_scope: tuple[str, ...], channel_scope: tuple[str, ...], public: frozenset[str]) -> bool:
    return in_scope(role_scope, project, public) and in_scope(channel_scope, project, public)


def visible_set(
    role_scope: tuple[str, ...], channel_scope: tuple[str, ...], *, known: frozenset[str], public: frozenset[str]
) -> frozenset[str] | None:
    """Projects visible under both scopes; None when both are unrestricted ('*').

    `known` is every project the ticket system listed; explicit keys count even when it could not list them.
    """
    if ALL in role_scope and ALL in channel_scope:
        return None
    universe = known | {p for p in (*role_scope, *channel_scope) if p not in (ALL, "public")}
    return frozenset(p for p in universe if in_scope(role_scope, p, public) and in_scope(channel_scope, p, public))
