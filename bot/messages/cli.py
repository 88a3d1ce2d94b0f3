"""What operators read in a terminal: `chatops run` refusing a setup, `chatops doctor`'s fixes, `chatops shell`."""

from __future__ import annotations


def missing_slack_settings(missing: list[str]) -> str:
    """Why `chatops run` cannot start: every setting still to set, and where they come from."""
    lines = ["Cannot start the Slack bot; set these in the environment or in .env:"]
    lines += [f"  {item}" for item in missing]
    lines.append(
        "Create the Slack app from manifest.yml (api.slack.com/apps → Create New App → From a manifest); "
        "the README's 'Install it in a Slack workspace' section shows where each token is."
    )
    return "\n".join(lines)


def workers_invalid(count: int) -> str:
    """`--workers` below one."""
    return f"--workers must be at least 1 (got {count})."


def workers_need_postgres(count: int) -> str:
    """More than one worker on SQLite."""
    return (
        f"Cannot run {count} workers on SQLite: it allows one writer at a time and lives in one file. "
        "Run with --workers 1, or set DATABASE_URL to PostgreSQL (postgresql+psycopg://user:pass@host:5432/db) "
        "to run several workers."
    )


def workers_socket_mode() -> str:
    """`--workers N` without `--http`."""
    return (
        "--workers applies to HTTP mode (chatops run --http). To scale Socket Mode, run more `chatops run` "
        "processes against the same PostgreSQL database: each opens its own connection (up to 10 per app)."
    )


def doctor_fix_database() -> str:
    """How to fix a database the doctor cannot reach."""
    return (
        "Check DATABASE_URL: sqlite:///chatops.db (a file) or postgresql+psycopg://user@host:5432/db, "
        "and that the server is running and accepts this user."
    )


def doctor_fix_model(problem: str) -> str:
    """How to fix a model key or model name the API refused (`problem` as in bot.errors.Misconfigured)."""
    if problem.startswith("model.not_found"):
        return (
            "Set CHATOPS_MODEL to a model this key may use (e.g. claude-sonnet-4-6; the list is on the Anthropic "
            "console), or change the model in /chatops config."
        )
    return "Create a key in the Anthropic console (Settings > API keys) and set it as ANTHROPIC_API_KEY."


def doctor_fix_model_api() -> str:
    """How to fix a model API the doctor cannot reach."""
    return "Check that this machine reaches the model API (ANTHROPIC_BASE_URL when a proxy is used), then run it again."


def doctor_traces_off() -> str:
    """The doctor's line when no OTLP endpoint is set."""
    return "off (set OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector)"


def doctor_traces_ok(endpoint: str, *, content: bool) -> str:
    """The doctor's line when the collector accepted an empty export."""
    return f"the collector at {endpoint} accepts OTLP/HTTP traces; " + (
        "prompts, answers and tool data are attached, secrets masked (CHATOPS_TRACE_CONTENT=true)" if content else "no prompt, answer or ticket text is sent"
    )


def doctor_fix_traces(endpoint: str) -> str:
    """How to fix a collector that does not take the doctor's empty export."""
    return (
        f"Check OTEL_EXPORTER_OTLP_ENDPOINT (the collector's base URL, e.g. http://otel-collector:4318; /v1/traces is "
        f"added) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as given; now {endpoint}), that the collector's OTLP/HTTP "
        "receiver is on, and OTEL_EXPORTER_OTLP_HEADERS if it wants a key. Unset both to switch traces off."
    )


def doctor_fix_jira_unreachable(url: str) -> str:
    """How to fix a Jira the doctor cannot reach."""
    return (
        f"Check JIRA_URL ({url}): it is the site's base URL, e.g. https://your-site.atlassian.net, "
        "reachable from this machine (proxy, firewall, VPN)."
    )


def doctor_fix_jira_credentials(auth: str) -> str:
    """How to fix credentials Jira rejected (auth is 'basic' or 'bearer')."""
    if auth == "bearer":
        return (
            "JIRA_PAT was rejected: create a personal access token in Jira Data Center (Profile > Personal "
            "Access Tokens). On Jira Cloud use JIRA_EMAIL and JIRA_API_TOKEN instead."
        )
    return (
        "JIRA_EMAIL / JIRA_API_TOKEN were rejected: JIRA_EMAIL is the bot account's login and JIRA_API_TOKEN "
        "an API token of that account (https://id.atlassian.com/manage-profile/security/api-tokens)."
    )


def doctor_fix_no_projects() -> str:
    """How to fix a Jira account that sees no project."""
    return "The bot's Jira account sees no project: grant it Browse Projects in the projects it should work in."


def doctor_fix_permissions(missing: list[str]) -> str:
    """How to fix missing Jira permissions."""
    return (
        f"Grant the bot's Jira account {', '.join(missing)} in the permission scheme of each project it "
        "works in (Project settings > Permissions), e.g. by adding it to the project's Member role."
    )


def shell_banner(user_id: str) -> str:
    """The first line of `chatops shell`."""
    return f"chatops shell — acting as {user_id}. Ask about tickets; an empty line or Ctrl-D quits."


def shell_confirm(description: str) -> str:
    """The shell's approval prompt."""
    return f"Confirm: {description} [y/N] "
