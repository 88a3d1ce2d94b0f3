"""The configuration modal behind `/chatops config` and the MCP servers section: refusals, field errors, the
saved confirmation."""

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
