"""The authorization policy as data: roles and their grants, project scopes, channel scopes, confirmation rules.

A project scope is a list whose items are project keys (`OPS`), `"*"` (every project) or `"public"` (every
project not marked private). A tool selector is a list whose items are tool names, effect classes (`"read"`,
`"write"`), `"*"`, or MCP patterns (`mcp:<server>:<tool>`, `mcp:<server>:*`). An MCP tool is granted only by an
MCP pattern (never by `*`, `read` or `write`); confirmation and switching off follow its effect class as usual. The policy is validated by pydantic; when the validation context carries
`{"tools": {name: effect}}`, tool names are checked against the registry too, so a typo is an error, not a
silently missing grant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bot.tools.base import ChannelType
from integrations.tickets.keys import project_key

ALL = "*"
PUBLIC = "public"
EFFECTS = ("read", "write")
BUILTIN_ROLES = ("admin", "member", "viewer")
ADMIN_ROLE = "admin"
CHANNEL_TYPES: tuple[ChannelType, ...] = ("im", "mpim", "public", "private", "ext_shared", "shell")
"""The channel kinds a policy scopes. `unknown` (Slack did not say) is not among them: it always gets the scope of
the most public kind, `ext_shared`."""
MOST_PUBLIC: ChannelType = "ext_shared"

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,31}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
MCP_PREFIX = "mcp:"
MCP_PATTERN = re.compile(r"^mcp:([A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_)){0,31}):(\*|[A-Za-z0-9_.\-/]{1,128})$")
"""`mcp:<server>:<tool>` or `mcp:<server>:*` (the tool's name as its server lists it)."""

ToolSelector = tuple[str, ...]
ProjectScope = tuple[str, ...]


def _check_scope(items: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item not in (ALL, PUBLIC) and project_key(item) != item:
            raise ValueError(
                f"{item!r} is not a project key (like OPS), '*' (every project) or 'public' (non-private projects)"
            )
        if item not in out:
            out.append(item)
    return tuple(out)


def _check_selector(items: Iterable[str], info: ValidationInfo, *, field: str) -> tuple[str, ...]:
    known: Mapping[str, str] | None = (info.context or {}).get("tools")
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item in (ALL, *EFFECTS) or MCP_PATTERN.match(item):
            pass
        elif known is not None and item not in known:
            raise ValueError(f"unknown tool {item!r} in {field} (known: {', '.join(sorted(known))}; or read, write, *)")
        elif not re.match(r"^[a-z][a-z0-9_]{0,63}$", item):
            raise ValueError(f"{item!r} is not a tool name, 'read', 'write', '*' or mcp:<server>:<tool|*>")
        if item not in out:
            out.append(item)
    return tuple(out)


def selects(selector: Iterable[str], tool_name: str, effect: str, *, broad: bool = True) -> bool:
    """True when a tool selector names this tool, its effect class, or everything.

    For an MCP tool (`tool_name` = `mcp:<server>:<tool>`) a pattern naming it or its server matches; `*` and the
    effect classes match only when `broad` (confirmation, switching off), never for grants.
    """
    if tool_name.startswith(MCP_PREFIX):
        server_wide = tool_name.rsplit(":", 1)[0] + ":*"
        return any(item in (tool_name, server_wide) or (broad and item in (ALL, effect)) for item in selector)
    return any(item in (ALL, effect, tool_name) for item in selector)


def mcp_match(patterns: Iterable[str], tool_name: str) -> list[str]:
    """The patterns naming this MCP tool, the exact one first."""
    server_wide = tool_name.rsplit(":", 1)[0] + ":*"
    return sorted((p for p in patterns if p in (tool_name, server_wide)), key=lambda p: p != tool_name)


def in_scope(scope: Iterable[str], project: str, public_projects: frozenset[str]) -> bool:
    """True when a project scope covers `project`. `public` covers only projects known to be non-private."""
    return any(item == ALL or item == project or (item == PUBLIC and project in public_projects) for item in scope)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(_Frozen):
    """What one role may do: which tools, on which projects, and which calls need confirmation."""

    description: str = Field(default="", max_length=200)
    tools: ToolSelector = ()
    """Tool names or effect classes this role may use ('read', 'write', '*')."""
    projects: ProjectScope = (ALL,)
    """Projects whose tickets this role may see or change ('*', 'public', or keys)."""
    confirm: ToolSelector = ()
    """Calls that pause for Approve/Cancel before running (tool names, 'write', 'read', '*')."""

    @field_validator("tools", "confirm", mode="after")
    @classmethod
    def _tools_known(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return _check_selector(value, info, field=info.field_name or "tools")

    @field_validator("projects", mode="after")
    @classmethod
    def _projects_wellformed(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_scope(value)

    def grants(self, tool_name: str, effect: str) -> bool:
        """True when this role may use the tool at all (an MCP tool only through an MCP pattern)."""
        return selects(self.tools, tool_name, effect, broad=False)

    def needs_confirmation(self, tool_name: str, effect: str) -> bool:
        """True when calls of this tool by this role pause for Approve/Cancel."""
        return selects(self.confirm, tool_name, effect)


def _default_channel_types() -> dict[ChannelType, ProjectScope]:
    # Only a DM (and the operator's terminal) shows everything the asker may see; anywhere other people read
    # along shows non-private projects unless an admin scopes that channel explicitly. A Slack Connect channel is
    # read by other organizations: nothing until an admin opens it (by type or by channel id).
    return {
        "im": (ALL,),
        "shell": (ALL,),
        "private": (PUBLIC,),
        "mpim": (PUBLIC,),
        "public": (PUBLIC,),
        "ext_shared": (),
    }


class ChannelScopes(_Frozen):
    """Which projects may be shown where: by channel type, overridden per channel id."""

    by_type: dict[ChannelType, ProjectScope] = Field(default_factory=_default_channel_types)
    channels: dict[str, ProjectScope] = Field(default_factory=dict)

    @field_validator("by_type", mode="after")
    @classmethod
    def _fill_types(cls, value: dict[ChannelType, ProjectScope]) -> dict[ChannelType, ProjectScope]:
        merged = _default_channel_types()
        # an `unknown` entry (stored by older versions) is dropped: unknown always gets the most public kind's scope
        merged.update({kind: _check_scope(scope) for kind, scope in value.items() if kind in CHANNEL_TYPES})
        return merged

    @field_validator("channels", mode="after")
    @classmethod
    def _channel_ids(cls, value: dict[str, ProjectScope]) -> dict[str, ProjectScope]:
        for channel_id in value:
            if not CHANNEL_ID.match(channel_id):
                raise ValueError(f"{channel_id!r} is not a Slack channel id (like C0123ABCD)")
        return {channel_id: _check_scope(scope) for channel_id, scope in value.items()}

    def scope_for(self, *, channel_id: str | None, channel_type: ChannelType) -> ProjectScope:
        """The projects that may be shown in this channel."""
        if channel_id and channel_id in self.channels:
            return self.channels[channel_id]
        return self.by_type.get(channel_type, self.by_type[MOST_PUBLIC])


def default_roles() -> dict[str, Role]:
    """The built-in roles: admins do everything unconfirmed; members read and write (writes confirmed) on
    non-private projects; viewers only read non-private projects."""
    return {
        "admin": Role(description="Configures the bot; every tool, every project.", tools=(ALL,), projects=(ALL,)),
        "member": Role(
            description="Reads and changes tickets; writes need confirmation.",
            tools=("read", "write"),
            projects=(PUBLIC,),
            confirm=("write",),
        ),
        "viewer": Role(description="Reads tickets only.", tools=("read",), projects=(PUBLIC,), confirm=("write",)),
    }


class McpToolTrust(_Frozen):
    """An approved MCP tool: the fingerprint approved, whether it is on, and the definition seen then."""

    fingerprint: str = Field(pattern=r"^[0-9a-f]{16,64}$")
    enabled: bool = True
    definition: dict[str, Any] = Field(default_factory=dict)


class McpServerTrust(_Frozen):
    """An MCP server as the admins set it: enabled or not, and its approved tools by their listed name."""

    enabled: bool = False
    tools: dict[str, McpToolTrust] = Field(default_factory=dict)


def _check_mcp_pattern(pattern: str) -> None:
    if not MCP_PATTERN.match(pattern):
        raise ValueError(f"{pattern!r} is not an MCP pattern (mcp:<server>:<tool> or mcp:<server>:*)")


class Policy(_Frozen):
    """The whole policy. Stored field by field in the config table; loaded from a file at bootstrap."""

    roles: dict[str, Role] = Field(default_factory=default_roles)
    default_role: str = "member"
    """The role of people with no assignment (validated after `roles`, which it must name)."""
    enabled_tools: ToolSelector = (ALL,)
    """Tools offered to anyone at all; a tool left out is offered to nobody."""
    private_projects: ProjectScope = ()
    """Projects treated as private in addition to those the ticket system marks private."""
    channel_scopes: ChannelScopes = Field(default_factory=ChannelScopes)
    mcp_toolsets: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """MCP pattern → where its tools are offered: channel ids, channel types (im, public, ...) or '*'.
    A tool no pattern names is offered wherever its role grant applies."""
    mcp_effects: dict[str, Literal["read", "write"]] = Field(default_factory=dict)
    """MCP pattern → effect class, overriding the server's readOnlyHint."""
    mcp_trust: dict[str, McpServerTrust] = Field(default_factory=dict)
    """Per MCP server: enabled by an admin, and each approved tool's fingerprint (set from Slack, not the file)."""

    @field_validator("mcp_toolsets", mode="after")
    @classmethod
    def _toolsets(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for pattern, where in value.items():
            _check_mcp_pattern(pattern)
            for item in where:
                if item != ALL and item not in CHANNEL_TYPES and not CHANNEL_ID.match(item):
                    raise ValueError(f"{item!r} in mcp_toolsets[{pattern!r}] is not a channel id, a channel type ({', '.join(CHANNEL_TYPES)}) or '*'")
        return value

    @field_validator("mcp_effects", mode="after")
    @classmethod
    def _effects(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value:
            _check_mcp_pattern(pattern)
        return value

    def mcp_effect(self, tool_name: str) -> str | None:
        """The effect class the policy sets for this MCP tool (exact pattern before server-wide), if any."""
        matched = mcp_match(self.mcp_effects, tool_name)
        return self.mcp_effects[matched[0]] if matched else None

    def mcp_offered_in(self, tool_name: str, *, channel_id: str | None, channel_type: str) -> bool:
        """True when this MCP tool may be offered in this channel (no toolset naming it: everywhere)."""
        matched = mcp_match(self.mcp_toolsets, tool_name)
        if not matched:
            return True
        where = {item for pattern in matched for item in self.mcp_toolsets[pattern]}
        return ALL in where or channel_type in where or (channel_id is not None and channel_id in where)

    @field_validator("enabled_tools", mode="after")
    @classmethod
    def _enabled_known(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return _check_selector(value, info, field="enabled_tools")

    @field_validator("private_projects", mode="after")
    @classmethod
    def _private_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        keys = _check_scope(value)
        if ALL in keys or PUBLIC in keys:
            raise ValueError("private_projects lists project keys only")
        return keys

    @field_validator("roles", mode="after")
    @classmethod
    def _role_names(cls, value: dict[str, Role]) -> dict[str, Role]:
        for name in value:
            if not ROLE_NAME.match(name):
                raise ValueError(f"role name {name!r}: use lower-case letters, digits, '-' or '_'")
        missing = [name for name in BUILTIN_ROLES if name not in value]
        if missing:
            raise ValueError(f"the roles {', '.join(BUILTIN_ROLES)} must exist; missing: {', '.join(missing)}")
        return value

    @field_validator("default_role", mode="after")
    @classmethod
    def _default_role_exists(cls, value: str, info: ValidationInfo) -> str:
        roles = info.data.get("roles")
        if roles is not None and value not in roles:
            raise ValueError(f"default_role {value!r} is not a role (roles: {', '.join(roles)})")
        return value

    def tool_enabled(self, tool_name: str, effect: str) -> bool:
        """True when the admins have not switched this tool off."""
        return selects(self.enabled_tools, tool_name, effect)


PolicyField = Literal[
    "default_role", "enabled_tools", "private_projects", "roles", "channel_scopes", "mcp_toolsets", "mcp_effects", "mcp_trust"
]
POLICY_FIELDS: tuple[PolicyField, ...] = (
    "default_role", "enabled_tools", "private_projects", "roles", "channel_scopes", "mcp_toolsets", "mcp_effects", "mcp_trust"
)


def policy_from_fields(fields: Mapping[str, Any], *, tools: Mapping[str, str] | None = None) -> Policy:
    """Build a Policy from stored field values (JSON), validating tool names when `tools` is given."""
    return Policy.model_validate(dict(fields), context={"tools": tools} if tools is not None else None)


def policy_fields(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-able field values (the form stored in the config table)."""
    return policy.model_dump(mode="json")


def project_refs(policy: Policy) -> list[tuple[tuple[str, ...], str]]:
    """Every explicit project key the policy names, with where: (field path, key)."""
    refs: list[tuple[tuple[str, ...], str]] = [(("private_projects",), key) for key in policy.private_projects]
    for name, role in policy.roles.items():
        refs += [(("roles", name, "projects"), key) for key in role.projects if key not in (ALL, PUBLIC)]
    scopes = policy.channel_scopes
    for kind, scope in scopes.by_type.items():
        refs += [(("channel_scopes", "by_type", kind), key) for key in scope if key not in (ALL, PUBLIC)]
    for channel_id, scope in scopes.channels.items():
        refs += [(("channel_scopes", "channels", channel_id), key) for key in scope if key not in (ALL, PUBLIC)]
    return refs
