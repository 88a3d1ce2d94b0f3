"""`chatops policy show`: the role × tool table (allowed / denied / needs confirmation), generated from the policy.

Every cell is `grant_outcome`, the same function `decide` starts from, so the table cannot drift from what is
enforced. Shows the configuration stored in the database (what the running bot uses); before the first start
it shows what the first start will store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from bot.authz import Outcome
from bot.clock import utcnow
from bot.logs import get_logger, log_event
from bot.policy.bootstrap import pending_changes, seed_from
from bot.policy.decide import grant_outcome
from bot.policy.file import load_policy_file
from bot.policy.live import PolicyState, state_from_snapshot
from bot.policy.model import ALL, CHANNEL_TYPES, MCP_PATTERN, MOST_PUBLIC, PUBLIC, Policy, mcp_match
from bot.settings import Settings
from bot.storage.settings_store import ConfigSnapshot
from bot.tools.base import Tool

Format = Literal["markdown", "text"]

CELL: dict[Outcome, str] = {"allow": "allowed", "confirm": "needs confirmation", "deny": "denied"}
CHANNEL_LABELS = {
    "im": "direct message",
    "mpim": "group DM",
    "public": "public channel",
    "private": "private channel",
    "ext_shared": "Slack Connect channel (shared with other organizations)",
    "shell": "terminal (chatops shell)",
}


def describe_scope(scope: Sequence[str]) -> str:
    """A project scope in words."""
    words = []
    for item in scope:
        words.append({ALL: "every project", PUBLIC: "non-private projects"}.get(item, item))
    return ", ".join(words) or "no projects"


def render_policy(state: PolicyState, tools: Sequence[Tool], *, fmt: Format = "markdown", note: str = "") -> str:
    """The whole report: role × tool, projects per role, channel scopes, who is admin."""
    policy = state.policy
    roles = list(policy.roles)
    header = ["tool", "effect", *roles]
    rows = [
        [t.name, t.effect.value, *(CELL[grant_outcome(policy, r, t.name, t.effect.value)] for r in roles)]
        for t in tools
    ]
    role_rows = [[name, describe_scope(role.projects), role.description] for name, role in policy.roles.items()]
    scopes = policy.channel_scopes
    channel_rows = [[CHANNEL_LABELS[kind], describe_scope(scopes.by_type[kind])] for kind in CHANNEL_TYPES]
    channel_rows.append(["unknown channel type (Slack did not say)", f"as a {CHANNEL_LABELS[MOST_PUBLIC]}"])
    channel_rows += [[f"channel {cid}", describe_scope(scope)] for cid, scope in sorted(scopes.channels.items())]
    env_admins = ", ".join(sorted(state.env_admins)) or "none"
    assigned = sorted(u for u, r in state.assignments.items() if r == "admin" and u not in state.env_admins)
    facts = [
        f"Configuration version {state.version}. Default role (people with no assignment): {policy.default_role}.",
        f"Admins: {env_admins} (CHATOPS_ADMINS); {', '.join(assigned) or 'none'} (assigned).",
        f"Private projects (besides those the ticket system marks private): "
        f"{', '.join(policy.private_projects) or 'none'}.",
        "A role's projects are further limited by where the question is asked (channel scope).",
    ]
    mcp_rows = mcp_table(policy, roles)
    if not mcp_rows:
        facts.append("MCP tools: none granted (a role's tools name them as mcp:<server>:<tool> or mcp:<server>:*).")
    if note:
        facts.append(note)
    sections = [
        ("Roles × tools", header, rows),
        ("Projects by role", ["role", "projects", "description"], role_rows),
        ("Projects shown by channel", ["where", "projects"], channel_rows),
    ]
    if mcp_rows:
        sections.append(("MCP tools", ["pattern", "effect", "offered in", "server", *roles], mcp_rows))
    out: list[str] = []
    for title, head, body in sections:
        out += [f"## {title}" if fmt == "markdown" else title.upper(), ""]
        out += _table(head, body, fmt)
        out.append("")
    out += [f"- {line}" if fmt == "markdown" else line for line in facts]
    return "\n".join(out).rstrip() + "\n"


def mcp_table(policy: Policy, roles: list[str]) -> list[list[str]]:
    """One row per MCP pattern the policy names: effect, where offered, server state, and per role the outcome for
    a tool it covers (writes show the confirmation rule; reads follow the server's readOnlyHint unless overridden)."""
    patterns: set[str] = set(policy.mcp_toolsets) | set(policy.mcp_effects)
    for role in policy.roles.values():
        patterns |= {item for item in (*role.tools, *role.confirm) if MCP_PATTERN.match(item)}
    patterns |= {f"mcp:{server}:*" for server in policy.mcp_trust}
    rows = []
    for pattern in sorted(patterns):
        effect = policy.mcp_effect(pattern)
        matched = mcp_match(policy.mcp_toolsets, pattern)
        where = ", ".join(item for p in matched for item in policy.mcp_toolsets[p]) or "every channel"
        server = pattern.split(":")[1]
        trust = policy.mcp_trust.get(server)
        state = "not enabled" if trust is None or not trust.enabled else f"enabled, {len(trust.tools)} tools approved"
        cells = [CELL[grant_outcome(policy, r, pattern, effect or "write")] for r in roles]
        rows.append([pattern, effect or "server's readOnlyHint (else write)", where, state, *cells])
    return rows


def _table(head: list[str], rows: list[list[str]], fmt: Format) -> list[str]:
    if fmt == "markdown":
        esc = [[cell.replace("|", "\\|") for cell in row] for row in [head, *rows]]
        lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return lines + ["| " + " | ".join(row) + " |" for row in esc[1:]]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    fmt_row = lambda row: "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()  # noqa: E731
    return [fmt_row(head), fmt_row(["-" * w for w in widths]), *(fmt_row(row) for row in rows)]


async def run_policy_show(settings: Settings, *, fmt: Format) -> int:
    """Print the table for the configured database (and policy file); exit status 0."""
    from bot.tools.registry import all_tools

    tools = all_tools()
    effects = {t.name: t.effect.value for t in tools}
    policy_file = (
        load_policy_file(settings.chatops_policy_file, tools=effects, default_role=settings.chatops_default_role)
        if settings.chatops_policy_file is not None
        else None
    )
    seed = seed_from(settings.chatops_default_role, policy_file)
    snapshot = await read_config(settings.database_url)
    log_event(get_logger("policy"), "configuration read (read-only)", version=snapshot.version)
    note = ""
    values, assignments = pending_changes(snapshot, seed, settings.chatops_default_role)
    if snapshot.version == 0:
        note = "Not stored yet: this is what the bot will store on its first start."
        snapshot = ConfigSnapshot(
            version=0,
            values=values,
            assignments={u: r for u, r in assignments.items() if r is not None},
            seed=seed,
        )
    elif values or assignments:
        note = "The policy file or environment changed: the next start applies " + ", ".join(
            sorted([*values, *(f"role:{u}" for u in assignments)])
        )
    print(render_policy(state_from_snapshot(snapshot, settings), tools, fmt=fmt, note=note), end="")
    return 0


async def read_config(url: str) -> ConfigSnapshot:
    """The stored configuration, read without writing anything: no migration, no file created, no pragma that
    changes the database (an inspection command must not touch what it inspects). A database the bot never
    started on reads as empty (version 0)."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    from bot.storage.db import Database, make_engine
    from bot.storage.store import Store

    empty = ConfigSnapshot(version=0, values={}, assignments={}, seed=None)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:" or not Path(path).is_file():
            return empty
        # SQLite's own read-only mode: any write attempt fails instead of happening.
        engine = create_engine(f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true")
    else:
        engine = make_engine(url)
    try:
        tables = await asyncio.to_thread(lambda: set(inspect(engine).get_table_names()))
        if not {"config", "role_assignments"} <= tables:
            return empty
        return await Store(Database(engine), clock=utcnow).load_config()
    finally:
        engine.dispose()
