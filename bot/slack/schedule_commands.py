"""`/chatops digest ...` as text commands: list, preview, add, edit, pause, resume, delete, runs, reminders,
mute, unmute. Each returns the ephemeral reply text; admin-only commands check the role first, in code. `add`
and `edit` without changes open the editor modal (bot/slack/schedule_editor.py) when Slack gave a trigger.

    add PROJECT [#channel] daily 09:00 | weekdays 09:00 | weekly mon 09:00 | cron "0 9 * * 1-5"
        [tz=Europe/Berlin] [name="Ops morning"] [stale=3]
    edit ID [any of the above, project=KEY]
"""

from __future__ import annotations

import shlex
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.errors import ChatopsError, Misconfigured
from bot.messages import agent as agent_text
from bot.messages import schedules as schedule_text
from bot.policy.roles import role_of
from bot.scheduler.descriptions import local_time, next_run_of, target_of, when_of
from bot.scheduler.digest import collect_digest, digest_text
from bot.scheduler.drafts import Draft, save_digest, validate_draft
from bot.scheduler.jobs import DEFAULT_STALE_DAYS, REMINDERS_ID, channel_info, stale_days_of
from bot.scheduler.spec import ScheduleSpecError, build_timing, to_cron
from bot.slack.schedule_editor import open_schedule_modal
from bot.storage.schedules import ScheduleAction
from bot.storage.tables import ScheduleRow, ScheduleRunRow
from bot.tools.base import Actor

if TYPE_CHECKING:
    from bot.deps import Deps

ADMIN_COMMANDS = frozenset({"list", "add", "edit", "pause", "resume", "delete", "runs", "reminders"})
_KEYS = {
    "tz": "timezone",
    "timezone": "timezone",
    "name": "name",
    "stale": "stale_days",
    "project": "project",
}
_KEYS |= {"channel": "channel", "cron": "cron", "every": "every", "time": "time", "day": "day"}

PREVIEW_TOOLS = frozenset({"search_tickets", "workload_digest"})
"""A digest preview shows what these tools show: the caller's role must grant both (and the admins not have
switched them off)."""


class CommandError(ChatopsError):
    """The command text could not be understood; its str is the reply."""


def tokenize(text: str) -> list[str]:
    """Split like a shell (quotes group words; Slack's curly quotes count as quotes)."""
    text = text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    try:
        return shlex.split(text)
    except ValueError:
        raise CommandError(schedule_text.digest_unbalanced_quotes()) from None


def parse_changes(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Positional words and draft fields from `daily 09:00`, `weekly mon 09:00`, `cron "..."`, `key=value`."""
    positional: list[str] = []
    changes: dict[str, str] = {}
    i = 0
    while i < len(args):
        word, low = args[i], args[i].lower()
        if "=" in word and word.split("=", 1)[0].lower() in _KEYS:
            key, value = word.split("=", 1)
            changes[_KEYS[key.lower()]] = value
        elif low in ("daily", "weekdays", "at"):
            changes.update(every="weekdays" if low == "weekdays" else "daily", time=_arg(args, i + 1, low))
            i += 1
        elif low == "weekly":
            changes.update(every="weekly", day=_arg(args, i + 1, low), time=_arg(args, i + 2, low))
            i += 2
        elif low == "cron":
            expression = _arg(args, i + 1, low)
            if len(expression.split()) == 1:  # unquoted: take the five fields
                expression, i = " ".join(args[i + 1 : i + 6]), i + 4
            changes.update(every="cron", cron=expression)
            i += 1
        elif word.startswith("<#"):
            changes["channel"] = word
        else:
            positional.append(word)
        i += 1
    return positional, changes


def _arg(args: list[str], index: int, after: str) -> str:
    if index >= len(args):
        raise CommandError(schedule_text.digest_missing_value(after))
    return args[index]


async def handle_digest_command(
    client: Any, deps: Deps, *, user_id: str, channel_id: str, text: str, trigger_id: str | None = None
) -> str:
    """Handle `/chatops digest <args>`; return the ephemeral reply text (`trigger_id` lets add/edit open the modal)."""
    return await run_command(deps, client, user_id=user_id, channel_id=channel_id, text=text, trigger_id=trigger_id)


async def run_command(
    deps: Deps, client: Any, *, user_id: str, channel_id: str, text: str, trigger_id: str | None = None
) -> str:
    """Run one `/chatops digest` command; the reply text."""
    try:
        tokens = tokenize(text)
        sub, args = (tokens[0].lower(), tokens[1:]) if tokens else ("help", [])
        if sub in ("help", "?"):
            return schedule_text.digest_help()
        if sub == "preview":
            return await preview(deps, client, user_id=user_id, channel_id=channel_id, args=args)
        if sub in ("mute", "unmute"):
            return await mute(deps, user_id=user_id, args=args, on=sub == "mute")
        if sub not in ADMIN_COMMANDS:
            return schedule_text.digest_unknown_command(sub)
        if await role_of(deps, user_id) != "admin":
            return schedule_text.schedule_admin_only()
        if sub in ("add", "edit") and trigger_id and len(args) <= (0 if sub == "add" else 1):
            schedule_id = args[0] if args else None
            return await open_schedule_modal(
                client,
                deps,
                user_id=user_id,
                trigger_id=trigger_id,
                channel_id=channel_id,
                schedule_id=schedule_id,
            )
        if sub == "list":
            return await list_schedules(deps)
        if sub == "add":
            return await add(deps, client, user_id=user_id, channel_id=channel_id, args=args)
        if sub == "edit":
            return await edit(deps, client, user_id=user_id, args=args)
        if sub == "reminders":
            return await reminders(deps, user_id=user_id, args=args)
        return await lifecycle(deps, sub, user_id=user_id, args=args)
    except CommandError as exc:
        return str(exc)


async def add(deps: Deps, client: Any, *, user_id: str, channel_id: str, args: list[str]) -> str:
    """`add PROJECT <when> [#channel] [tz=...] [name=...] [stale=N]`."""
    positional, changes = parse_changes(args)
    if positional and "project" not in changes:
        changes["project"] = positional.pop(0)
    if positional:
        raise CommandError(schedule_text.digest_unexpected_words(positional))
    draft = Draft(channel=f"<#{channel_id}>").merged(changes)
    checked, errors = await validate_draft(deps, client, draft, scope_user=user_id)
    if checked is None:
        return schedule_text.schedule_invalid(errors)
    row = await save_digest(deps, checked, by=user_id)
    return schedule_text.schedule_saved(row.id, row.name, row.channel_id or "", when_of(row), "added")


async def edit(deps: Deps, client: Any, *, user_id: str, args: list[str]) -> str:
    """`edit ID [changes]`."""
    positional, changes = parse_changes(args)
    if not positional:
        raise CommandError(schedule_text.digest_missing_id("edit"))
    row = await _digest(deps, positional[0])
    if len(positional) > 1:
        raise CommandError(schedule_text.digest_unexpected_words(positional[1:]))
    draft = Draft.of(row).merged(changes)
    checked, errors = await validate_draft(deps, client, draft, scope_user=row.created_by or user_id)
    if checked is None:
        return schedule_text.schedule_invalid(errors)
    saved = await save_digest(deps, checked, by=user_id, schedule_id=row.id)
    return schedule_text.schedule_saved(saved.id, saved.name, saved.channel_id or "", when_of(saved), "updated")


async def lifecycle(deps: Deps, sub: str, *, user_id: str, args: list[str]) -> str:
    """`pause ID`, `resume ID`, `delete ID`, `runs ID`."""
    if not args:
        raise CommandError(schedule_text.digest_missing_id(sub))
    schedule_id = args[0]
    if sub == "runs":
        row = await _schedule(deps, schedule_id)
        return _runs_text(row, await deps.store.list_runs(schedule_id, limit=8))
    if sub == "delete":
        deleted = await deps.store.delete_schedule(schedule_id, by=user_id)
        if deleted is None:
            raise CommandError(schedule_text.schedule_unknown(schedule_id))
        return schedule_text.schedule_deleted(schedule_id, deleted.name)
    action: ScheduleAction = "resume" if sub == "resume" else "pause"
    changed = await deps.store.set_schedule_enabled(
        schedule_id, action == "resume", by=user_id, action=action
    )
    if changed is None:
        raise CommandError(schedule_text.schedule_unknown(schedule_id))
    return (
        schedule_text.schedule_paused(changed.id, changed.name)
        if action == "pause"
        else schedule_text.schedule_resumed(changed.id, changed.name)
    )


async def list_schedules(deps: Deps) -> str:
    """Every schedule with its timing, channel, next run and last outcome."""
    rows = await deps.store.list_schedules()
    if not rows:
        return schedule_text.schedule_none()
    now = deps.clock()
    lines = []
    for row in rows:
        runs = await deps.store.list_runs(row.id, limit=1)
        last = f"{runs[0].status} ({local_time(runs[0].scheduled_for, row.timezone)})" if runs else None
        line = schedule_text.schedule_line(
            schedule_id=row.id, name=row.name, target=target_of(row), when=when_of(row), enabled=row.enabled,
            next_run=next_run_of(row, now), last=last,
        )  # fmt: skip
        lines.append(line)
    return "\n".join(lines)




def _runs_text(row: ScheduleRow, runs: list[ScheduleRunRow]) -> str:
    if not runs:
        return schedule_text.schedule_no_runs(row.id)
    return "\n".join(
        schedule_text.schedule_run_line(local_time(r.scheduled_for, row.timezone), r.status, r.error, r.attempts)
        for r in runs
    )



async def preview(deps: Deps, client: Any, *, user_id: str, channel_id: str, args: list[str]) -> str:
    """`preview [PROJECT]`: the digest as this user may see it in this channel, right now."""
    schedules = [s for s in await deps.store.list_schedules(kind="digest") if s.channel_id == channel_id]
    project = args[0].upper() if args else (schedules[0].project_key if schedules else None)
    if not project:
        return schedule_text.preview_needs_project()
    schedule = next((s for s in schedules if s.project_key == project), None)
    try:
        info = await channel_info(client, channel_id)
        channel_type = info.channel_type
    except Exception:  # noqa: BLE001 - channel type unknown: the policy treats "unknown" conservatively
        channel_type = "unknown"
    try:  # the ticket system first: a refused credential must not read as "not allowed" (the policy fails closed)
        known = {p.key for p in await deps.tickets.list_projects()}
    except Misconfigured as exc:  # Jira refusing the bot's credential: the asker hears it, the admins are told
        told = await deps.alerts.report(exc, asker=user_id, channel=channel_id)
        return agent_text.misconfigured(exc.summary, told=told)
    except ChatopsError as exc:
        return schedule_text.preview_failed(project, str(exc))
    # Visibility, with one answer for "unknown" and "not allowed": a preview never tells a member whether a
    # project they may not see exists.
    actor = Actor(user_id=user_id, channel_id=channel_id, channel_type=channel_type)
    visible = await deps.authorizer.visible_projects(actor)
    if visible is not None and project not in visible:
        return schedule_text.preview_not_allowed(project)
    # A preview lists tickets: only for someone whose role grants the tools that list them, here.
    offered = {t.name for t in await deps.authorizer.offered_tools(actor, deps.tools)}
    if not PREVIEW_TOOLS <= offered:
        return schedule_text.preview_not_allowed(project)
    now = deps.clock()
    if project not in known:
        return schedule_text.preview_not_allowed(project)
    try:
        stale = stale_days_of(schedule) if schedule is not None else DEFAULT_STALE_DAYS
        digest = await collect_digest(
            deps.tickets, project=project, now=now, since=now - timedelta(days=1), stale_days=stale
        )
    except Misconfigured as exc:
        told = await deps.alerts.report(exc, asker=user_id, channel=channel_id)
        return agent_text.misconfigured(exc.summary, told=told)
    except ChatopsError as exc:
        return schedule_text.preview_failed(project, str(exc))
    return schedule_text.preview_intro() + "\n" + digest_text(digest, title=schedule.name if schedule else None)


async def reminders(deps: Deps, *, user_id: str, args: list[str]) -> str:
    """`reminders` (show), `reminders PROJECT DAYS|off`, `reminders weekdays 09:00 [tz=...]`."""
    row = await deps.store.get_schedule(REMINDERS_ID)
    if not args:
        return _reminders_text(row)
    positional, changes = parse_changes(args)
    options = dict((row.options if row else None) or {})
    projects = dict(options.get("projects") or {})
    if positional:
        if len(positional) != 2:
            raise CommandError(schedule_text.reminders_usage())
        project, days = positional[0].upper(), positional[1].lower()
        if days == "off":
            projects.pop(project, None)
        elif days.isdigit() and 1 <= int(days) <= 90:
            if project not in {p.key for p in await deps.tickets.list_projects()}:
                return schedule_text.digest_project_missing(project)
            projects[project] = int(days)
        else:
            raise CommandError(schedule_text.reminders_usage())
    cron, zone = (row.cron, row.timezone) if row else ("0 9 * * 1-5", "UTC")
    if changes.keys() - {"every", "time", "day", "cron", "timezone"}:
        raise CommandError(schedule_text.reminders_usage())
    try:
        if "every" in changes:
            cron = to_cron(
                changes["every"], time=changes.get("time"), day=changes.get("day"), cron=changes.get("cron")
            )
        zone = build_timing(cron, changes.get("timezone", zone)).timezone
    except ScheduleSpecError as exc:
        return schedule_text.schedule_invalid({exc.field: str(exc)})
    options["projects"] = projects
    saved = await deps.store.save_schedule(
        ScheduleRow(
            id=REMINDERS_ID, name="Reminders", kind="reminders", cron=cron, timezone=zone,
            enabled=row.enabled if row else True, options=options, created_by=row.created_by if row else user_id,
        ),
        by=user_id,
        action="edit" if row else "add",
    )  # fmt: skip
    return _reminders_text(saved)


def _reminders_text(row: ScheduleRow | None) -> str:
    projects = dict(((row.options or {}).get("projects") if row else None) or {})
    return schedule_text.reminders_status(projects, when_of(row) if row else "", row.enabled if row else False)


async def mute(deps: Deps, *, user_id: str, args: list[str], on: bool) -> str:
    """`mute [DAYS]` / `unmute`: the caller's own reminder DMs."""
    if not on:
        await deps.store.unmute_reminders(user_id)
        return schedule_text.reminders_unmuted()
    days_text = args[0].lower().removesuffix("d") if args else ""
    if days_text and (not days_text.isdigit() or not 1 <= int(days_text) <= 365):
        raise CommandError(schedule_text.mute_usage())
    until = deps.clock() + timedelta(days=int(days_text)) if days_text else None
    await deps.store.mute_reminders(user_id, until=until)
    return schedule_text.reminders_muted(until.strftime("%a %d %b") if until else None)


async def _schedule(deps: Deps, schedule_id: str) -> ScheduleRow:
    row = await deps.store.get_schedule(schedule_id)
    if row is None:
        raise CommandError(schedule_text.schedule_unknown(schedule_id))
    return row


async def _digest(deps: Deps, schedule_id: str) -> ScheduleRow:
    row = await _schedule(deps, schedule_id)
    if row.kind != "digest":
        raise CommandError(schedule_text.schedule_not_digest(schedule_id))
    return row
