"""The configuration modal behind `/chatops config` and the MCP servers section: refusals, field errors (also the
policy check's, `bot/policy/edit.py`), the saved confirmation, and what an MCP trust change did (`bot/mcp/trust.py`)."""

from __future__ import annotations


def config_admin_only() -> str:
    """A non-admin ran /chatops config (or forged a submission)."""
    return "Only chatops admins can change the configuration. Ask an admin (`/chatops whoami` shows your role)."


def config_saved(version: int, fields: list[str]) -> str:
    """Sent to the admin after a saved change."""
    if not fields:
        return f"Nothing changed (configuration version {version})."
    return f"Configuration saved as version {version}. Changed: {', '.join(fields)}. It applies from the next request."


def config_stale(expected: int, current: int) -> str:
    """The configuration changed while the modal was open."""
    return (
        f"Someone else changed the configuration while you were editing (version {expected} → {current}). "
        "Close this and run /chatops config again; nothing was saved."
    )


def config_modal_failed() -> str:
    """views.open failed (e.g. the trigger expired)."""
    return "I couldn't open the configuration dialog (Slack refused it). Please run /chatops config again."


def config_lockout() -> str:
    """A change that would leave nobody able to configure the bot."""
    return "This would leave no chatops admin: keep at least one admin (or set CHATOPS_ADMINS)."


def config_env_admin(user_id: str) -> str:
    """An admin from CHATOPS_ADMINS was given another role in the modal."""
    return f"<@{user_id}> is an admin through CHATOPS_ADMINS; change the environment instead"


def config_user_unverified(user_id: str) -> str:
    """A person given a role could not be checked with Slack in time (the save is refused, nothing changed)."""
    return f"Couldn't verify <@{user_id}> with Slack just now. Nothing was saved; press Save again."


def config_intro(version: int, env_admins: list[str]) -> str:
    """The first lines of the configuration modal."""
    admins = ", ".join(f"<@{u}>" for u in env_admins) or "none"
    return (
        f"Configuration version {version}. Saved changes apply from the next request, in every "
        f"bot process. Admins through CHATOPS_ADMINS (always admins): {admins}."
    )


def config_audited() -> str:
    """The configuration modal's last line."""
    return "Every change is audited: who, when, field, before, after."


def config_role_twice(user_id: str, role: str) -> str:
    """Field error: one person picked under two roles."""
    return f"<@{user_id}> is also given the {role} role"


def config_not_a_user(text: str) -> str:
    """Field error: a person picker returned something that is not a Slack user id."""
    return f"{text!r} is not a Slack user id"


def config_user_unknown(user_id: str) -> str:
    """Field error: Slack does not know the person given a role."""
    return f"Unknown user {user_id}"


def config_user_deactivated(user_id: str) -> str:
    """Field error: the person given a role is deactivated."""
    return f"<@{user_id}> is deactivated"


def config_user_is_bot(user_id: str) -> str:
    """Field error: a bot was given a role."""
    return f"<@{user_id}> is a bot; roles are for people"


def mcp_admin_only() -> str:
    """Replaces the modal when someone who is not an admin clicks an MCP button."""
    return "Only chatops admins can change MCP servers. This attempt was logged."


def mcp_section_intro() -> str:
    """The line under the config modal's "MCP servers" header."""
    return "Enable a server to approve its tools as listed now. A tool whose definition changes is withheld until you approve the change."


def mcp_server_lines(
    name: str, *, enabled: bool, state: str, tools: int, last_error: str | None, changed: list[tuple[str, str]],
    not_approved: str | None, switched_off: str | None,
) -> list[str]:
    """One MCP server in the config modal (every argument already escaped for mrkdwn)."""
    lines = [f"*{name}* — {'enabled' if enabled else 'not enabled'}; {state}, {tools} tools"]
    if last_error:
        lines.append(f"Last error: {last_error}")
    lines += [f"• {tool} changed ({what}): withheld" for tool, what in changed]
    if not_approved:
        lines.append(f"• not approved yet: {not_approved}")
    if switched_off:
        lines.append(f"• switched off: {switched_off}")
    return lines


def policy_unknown_project(key: str, known: list[str]) -> str:
    """A project the policy names that the ticket system does not know."""
    return f"Unknown project {key!r} (known: {', '.join(known) or 'none'})"


def policy_project_unchecked(key: str) -> str:
    """A newly named project that cannot be checked because the ticket system did not answer."""
    return f"Cannot check project {key!r} now (the ticket system did not answer); try again"


def policy_not_a_user_id(user_id: str) -> str:
    """A role assignment for something that is not a Slack user id."""
    return f"{user_id!r} is not a Slack user id"


def policy_unknown_role(role: str, roles: list[str]) -> str:
    """A role assignment to a role the policy does not define."""
    return f"Unknown role {role!r} (roles: {', '.join(roles)})"


def mcp_no_server(server: str) -> str:
    """An MCP trust change for a server that is not configured."""
    return f"No MCP server named {server!r} is configured."


def mcp_not_connected(server: str, why: str) -> str:
    """Enabling or approving a server whose tools cannot be listed now."""
    return f"{server} is not connected ({why}); its tools cannot be reviewed now."


def mcp_unknown_tool(server: str, tool: str | None) -> str:
    """Switching a tool that is not among the server's approved tools."""
    return f"{tool!r} is not an approved tool of {server}."


def mcp_config_busy() -> str:
    """The configuration kept moving under an MCP trust change."""
    return "The configuration kept changing; try again."


def mcp_enabled(server: str, tools: int) -> str:
    """A server enabled: the tools it lists now are approved."""
    return f"{server}: enabled with {tools} tools approved as listed now"


def mcp_approved(server: str, tools: int) -> str:
    """A server's current tool definitions re-approved."""
    return f"{server}: current definitions of {tools} tools approved"


def mcp_disabled(server: str) -> str:
    """A server switched off."""
    return f"{server}: disabled"


def mcp_tool_switched(server: str, tool: str, on: bool) -> str:
    """One approved tool switched on or off."""
    return f"{server}: {tool} switched {'on' if on else 'off'}"


def mcp_tool_changed(server: str, tool: str, what: list[str]) -> str:
    """The admins' DM when an approved MCP tool's definition changed (it is withheld until reviewed)."""
    return (
        f"MCP tool {tool} on server {server} changed ({', '.join(what)}) since it was approved. "
        "It is withheld until an admin reviews it: /chatops config → MCP servers → Approve changes."
    )
