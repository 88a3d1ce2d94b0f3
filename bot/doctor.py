"""`chatops doctor`: check the database, the model API key and the ticket backend; say what is wrong and how
to fix it. Exit 0 only when every check passes.

For Jira it checks, in order (each step needs the one before): reachability and serverInfo (Cloud or Data
Center), the credentials (/myself), that the auth kind fits the deployment, the projects visible, and the
permissions the bot needs (/mypermissions). Secrets are never printed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from bot.checks import Check
from bot.errors import BackendCredentialsRejected, BackendPermissionMissing, ChatopsError, Misconfigured
from bot.messages import agent as agent_text
from bot.messages import cli as cli_text
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from integrations.tickets.jira_errors import credentials_rejected

if TYPE_CHECKING:
    from integrations.tickets.jira import JiraTickets
    from integrations.tickets.jira_client import JiraClient

REQUIRED_PERMISSIONS = {
    "BROWSE_PROJECTS": "Browse Projects",
    "CREATE_ISSUES": "Create Issues",
    "ADD_COMMENTS": "Add Comments",
    "TRANSITION_ISSUES": "Transition Issues",
    "ASSIGN_ISSUES": "Assign Issues",
}
"""Jira permissions the bot's tools use, by key, with the names Jira's admin screens show."""


async def run_doctor(settings: Settings, *, out: TextIO | None = None) -> int:
    """Run every check, print a report, return 0 when all pass (else 1)."""
    stream = out or sys.stdout
    checks = [await check_database(settings), await check_model(settings)]
    checks.extend(await check_tickets(settings))
    checks.append(await check_traces(settings))
    from bot.mcp.doctor import doctor_mcp

    mcp_checks, mcp_lines = await doctor_mcp(settings)
    checks.extend(mcp_checks)
    print("chatops doctor", file=stream)
    for check in checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}", file=stream)
        if not check.ok and check.fix:
            print(f"         fix: {check.fix}", file=stream)
    for line in mcp_lines:
        print(f"  {line}", file=stream)
    failed = sum(not c.ok for c in checks)
    print("All checks passed." if not failed else f"{failed} problem(s) found.", file=stream)
    return 0 if not failed else 1


async def check_traces(settings: Settings) -> Check:
    """Traces: off, or the collector takes an empty OTLP/HTTP export (no span is sent)."""
    endpoint = settings.otlp_traces_endpoint
    if endpoint is None:
        return Check("Traces", True, cli_text.doctor_traces_off())
    import aiohttp
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from bot.slack_api.outbound import mask_secrets

    shown = mask_secrets(endpoint)
    headers = {**settings.otlp_traces_headers, "Content-Type": "application/x-protobuf"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.post(endpoint, data=ExportTraceServiceRequest().SerializeToString(), headers=headers) as resp:
                status = resp.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Check("Traces", False, f"{shown} does not answer ({type(exc).__name__})", cli_text.doctor_fix_traces(shown))
    if 200 <= status < 300:
        return Check("Traces", True, cli_text.doctor_traces_ok(shown, content=settings.chatops_trace_content))
    return Check("Traces", False, f"{shown} answered HTTP {status} to an empty export", cli_text.doctor_fix_traces(shown))


async def check_database(settings: Settings) -> Check:
    """The database answers a trivial query."""
    db = Database(make_engine(settings.database_url))
    try:
        ok = await db.ping()
    finally:
        db.dispose()
    kind = "PostgreSQL" if settings.database_url.startswith("postgres") else "SQLite"
    if ok:
        return Check("Database", True, f"{kind} answers")
    return Check("Database", False, f"{kind} does not answer", cli_text.doctor_fix_database())


def check_model_key(settings: Settings) -> Check:
    """The model API key is set (its validity shows on the first call); other providers: the client builds."""
    if settings.chatops_provider != "anthropic":
        from bot.errors import ConfigError
        from bot.wiring_adapters import build_llm

        name = f"Model provider ({settings.chatops_provider})"
        try:
            build_llm(settings)
        except ConfigError as exc:
            return Check(name, False, "not configured", str(exc))
        return Check(name, True, f"client configured for {settings.chatops_model}")
    if settings.anthropic_api_key is None or not settings.anthropic_api_key.get_secret_value().strip():
        return Check("Model API key", False, "ANTHROPIC_API_KEY is not set", agent_text.missing_api_key())
    return Check("Model API key", True, "ANTHROPIC_API_KEY is set")


async def check_model(settings: Settings) -> Check:
    """The key is set, the API accepts it and knows the configured model (asked without spending tokens). A
    refusal is worded exactly as the asker and the admins see it in Slack (`Misconfigured.summary`)."""
    present = check_model_key(settings)
    if not present.ok or settings.chatops_provider != "anthropic":
        return present
    from bot.wiring import build_llm
    from integrations.llm.anthropic import AnthropicLLM

    llm = build_llm(settings)
    assert isinstance(llm, AnthropicLLM)
    try:
        name = await llm.check(settings.chatops_model)
    except Misconfigured as exc:
        detail = f"{exc.summary} ({exc.detail})" if exc.detail else exc.summary
        return Check("Model API key", False, detail, cli_text.doctor_fix_model(exc.problem))
    except ChatopsError as exc:
        return Check("Model API key", False, f"the model API did not answer: {exc}", cli_text.doctor_fix_model_api())
    finally:
        await llm.aclose()
    return Check("Model API key", True, f"ANTHROPIC_API_KEY is accepted; model {settings.chatops_model} ({name})")


async def check_tickets(settings: Settings) -> list[Check]:
    """The ticket backend: nothing to check for the local store; the Jira checks otherwise."""
    if settings.ticket_backend == "local":
        return [Check("Tickets", True, "local database store (set JIRA_URL to use Jira)")]
    from bot.wiring import build_tickets
    from integrations.tickets.jira import JiraTickets

    db = Database(make_engine(settings.database_url))
    backend = build_tickets(settings, db, lambda: datetime.now(UTC))
    assert isinstance(backend, JiraTickets)
    try:
        return await _jira_checks(settings, backend)
    finally:
        await backend.aclose()
        db.dispose()


def _rejected(client: JiraClient, exc: BackendCredentialsRejected) -> Check:
    """Worded as the asker and the admins see it in Slack (`Misconfigured.summary`), with how to fix it."""
    detail = f"{exc.summary} ({exc.detail})" if exc.detail else exc.summary
    return Check("Jira credentials", False, detail, cli_text.doctor_fix_jira_credentials(client.auth_kind))


async def _jira_checks(settings: Settings, backend: JiraTickets) -> list[Check]:
    client = backend.client
    url = settings.jira_url or ""
    checks: list[Check] = []
    try:
        info = await client.read(lambda j: j.server_info(), what="read serverInfo")
    except BackendCredentialsRejected as exc:
        return [_rejected(client, exc)]
    except ChatopsError as exc:
        return [Check("Jira", False, f"cannot reach {url}: {exc}", cli_text.doctor_fix_jira_unreachable(url))]
    flavour = "Jira Cloud" if client.is_cloud else "Jira Data Center/Server"
    checks.append(Check("Jira", True, f"{url} answers: {flavour} {info.get('version', '?')}"))
    try:
        me = await client.read(lambda j: j.myself(), what="read the bot's Jira profile")
    except (BackendCredentialsRejected, BackendPermissionMissing) as exc:  # any account may read itself: a 403 is the login
        rejected = exc if isinstance(exc, BackendCredentialsRejected) else credentials_rejected(client.credential_settings, detail=exc.detail)
        checks.append(_rejected(client, rejected))
        return checks
    except ChatopsError as exc:
        checks.append(Check("Jira credentials", False, str(exc), cli_text.doctor_fix_jira_unreachable(url)))
        return checks
    who = me.get("displayName") or me.get("accountId") or me.get("name")
    checks.append(Check("Jira credentials", True, f"signed in as {who}"))
    try:
        projects = await backend.list_projects()
    except ChatopsError as exc:
        checks.append(Check("Jira projects", False, str(exc), cli_text.doctor_fix_no_projects()))
        return checks
    if projects:
        keys = ", ".join(p.key for p in projects[:20]) + (" ..." if len(projects) > 20 else "")
        checks.append(Check("Jira projects", True, f"{len(projects)} visible ({keys})"))
    else:
        checks.append(Check("Jira projects", False, "none visible", cli_text.doctor_fix_no_projects()))
    checks.append(await _permissions(client))
    return checks


async def _permissions(client: JiraClient) -> Check:
    keys = ",".join(REQUIRED_PERMISSIONS)
    try:
        raw = await client.read(
            lambda j: j.my_permissions(permissions=keys), what="read the bot's permissions"
        )
        granted = {
            k
            for k, v in (raw.get("permissions") or {}).items()
            if isinstance(v, dict) and v.get("havePermission")
        }
    except (ChatopsError, AttributeError) as exc:
        return Check(
            "Jira permissions",
            False,
            f"could not read them: {exc}",
            cli_text.doctor_fix_permissions(list(REQUIRED_PERMISSIONS.values())),
        )
    missing = [name for key, name in REQUIRED_PERMISSIONS.items() if key not in granted]
    if missing:
        return Check(
            "Jira permissions",
            False,
            f"missing {', '.join(missing)}",
            cli_text.doctor_fix_permissions(missing),
        )
    return Check("Jira permissions", True, ", ".join(REQUIRED_PERMISSIONS.values()))
