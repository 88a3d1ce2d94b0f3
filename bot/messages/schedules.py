"""Scheduled digests and reminders: `/chatops digest ...` replies and usage, the editor's field errors, the
config modal's Schedules section, run failures posted in channels, reminders and muting."""

from __future__ import annotations


def digest_help() -> str:
    """`/chatops digest help`."""
    return (
        "*Digests and reminders*\n"
        "• `/chatops digest preview [PROJECT]`: see today's digest here, only to you\n"
        "• `/chatops digest mute [DAYS]` / `unmute`: your reminder DMs\n"
        "_Admins:_\n"
        "• `/chatops digest list`, `runs ID`\n"
        '• `/chatops digest add OPS weekdays 09:00 tz=Europe/Berlin` (also `daily 09:00`, `weekly mon 09:00`, '
        '`cron "0 9 * * 1-5"`, `#channel`, `name="..."`, `stale=3`); `add` alone opens a form\n'
        "• `/chatops digest edit ID [changes]`, `pause ID`, `resume ID`, `delete ID`\n"
        "• `/chatops digest reminders OPS 5` (DM assignees about OPS tickets idle 5+ days), `reminders OPS off`, "
        "`reminders weekdays 09:30 tz=Europe/Berlin`"
    )


def digest_unknown_command(word: str) -> str:
    """An unknown `/chatops digest` subcommand."""
    return f"I don't know `digest {word[:30]}`. Try `/chatops digest help`."


def digest_unbalanced_quotes() -> str:
    """Command text with an unclosed quote."""
    return 'A quote is not closed. Quote cron expressions and names like `cron "0 9 * * 1-5"`.'


def digest_missing_value(after: str) -> str:
    """A keyword without its value (`daily` with no time)."""
    return f"`{after}` needs a value, e.g. `{after} 09:00`" + (" (weekly: `weekly mon 09:00`)." if after == "weekly" else ".")


def digest_unexpected_words(words: list[str]) -> str:
    """Words a command did not expect."""
    return f"I don't understand {' '.join(words)[:80]!r}. Try `/chatops digest help`."


def digest_missing_id(command: str) -> str:
    """A command that needs a schedule id."""
    return f"Which schedule? `/chatops digest {command} ID` (`/chatops digest list` shows the ids)."


def schedule_admin_only() -> str:
    """A non-admin tried to change schedules."""
    return "Only chatops admins can manage digest schedules. You can still use `/chatops digest preview`."


def schedule_unknown(schedule_id: str) -> str:
    """No schedule has this id."""
    return f"There is no schedule `{schedule_id[:64]}`. `/chatops digest list` shows them."


def schedule_not_digest(schedule_id: str) -> str:
    """`edit` on the reminders schedule."""
    return f"`{schedule_id}` is not a digest; change reminders with `/chatops digest reminders`."


def schedule_invalid(errors: dict[str, str]) -> str:
    """Field errors of a schedule that was not saved."""
    lines = "\n".join(f"• *{field.replace('_', ' ')}*: {message}" for field, message in errors.items())
    return f"Not saved:\n{lines}"


def schedule_saved(schedule_id: str, name: str, channel_id: str, when: str, verb: str) -> str:
    """A schedule was added or updated."""
    return f"Digest `{schedule_id}` ({name}) {verb}: posts to <#{channel_id}> {when}."


def schedule_save_failed() -> str:
    """The database refused a schedule change (shown on the form, which stays open)."""
    return "I couldn't save this right now. Try Save again in a moment."


def schedule_paused(schedule_id: str, name: str) -> str:
    """A schedule was paused."""
    return f"Paused `{schedule_id}` ({name}). `/chatops digest resume {schedule_id}` turns it back on."


def schedule_resumed(schedule_id: str, name: str) -> str:
    """A schedule was resumed."""
    return f"Resumed `{schedule_id}` ({name})."


def schedule_deleted(schedule_id: str, name: str) -> str:
    """A schedule was deleted."""
    return f"Deleted `{schedule_id}` ({name})."


def schedule_none() -> str:
    """`list` with no schedules."""
    return "No schedules yet. Add one: `/chatops digest add OPS weekdays 09:00 tz=Europe/Berlin`."


def schedule_line(
    *, schedule_id: str, name: str, target: str, when: str, enabled: bool, next_run: str | None, last: str | None
) -> str:
    """One schedule in `list`."""
    state = f"next {next_run}" if enabled and next_run else "paused" if not enabled else "no next run"
    tail = f" · last: {last}" if last else ""
    return f"• `{schedule_id}` *{name}* → {target} · {when} · {state}{tail}"


def schedule_run_line(slot: str, status: str, error: str | None, attempts: int) -> str:
    """One run in `runs ID`."""
    retry = f" (attempt {attempts})" if attempts > 1 else ""
    return f"• {slot}: {status}{retry}" + (f": {error[:150]}" if error else "")


def schedule_no_runs(schedule_id: str) -> str:
    """`runs ID` before the first run."""
    return f"`{schedule_id}` has not run yet."


def schedule_modal_opened() -> str:
    """After opening the schedule editor."""
    return "Opened the digest editor."


def schedule_modal_failed() -> str:
    """views.open failed (usually an expired trigger)."""
    return "I couldn't open the editor (Slack said no). Try again, or use `/chatops digest add ...` with text."


def schedule_bad_project_key(text: str) -> str:
    """A project key that cannot be one."""
    return f"{text[:30]!r} is not a project key; use the key, e.g. OPS."


def schedule_bad_stale_days(text: str) -> str:
    """Stale days out of range."""
    return f"{text[:20]!r}: give a whole number of days from 1 to 90."


def schedule_bad_every(text: str) -> str:
    """An unknown frequency."""
    return f"{text[:20]!r}: choose daily, weekdays, weekly or cron."


def schedule_bad_channel(text: str) -> str:
    """A channel that is not a channel reference."""
    return (
        f"{text[:40]!r} is not a channel I can use: pick one in the form, or run the command in the channel "
        "(channel names like #ops need the channel id)."
    )


def schedule_channel_unknown(channel_id: str) -> str:
    """conversations.info could not find the channel (private channels the bot is not in look like this)."""
    return f"I can't see <#{channel_id}>. Invite me there first (`/invite @chatops`), then save again."


def schedule_channel_check_failed(error: str) -> str:
    """conversations.info failed for another reason."""
    return f"I couldn't check that channel right now ({error or 'Slack error'}). Try again."


def schedule_project_check_failed(reason: str) -> str:
    """The ticket backend could not confirm the project."""
    return f"I couldn't check the project right now ({reason[:120]}). Try again in a minute."


def digest_not_in_channel(channel_id: str) -> str:
    """The bot is not a member of the digest's channel."""
    return f"I'm not in <#{channel_id}>. Invite me with `/invite @chatops`, then try again."


def digest_channel_missing(channel_id: str, error: str) -> str:
    """The digest's channel is gone, archived or hidden from the bot."""
    return f"I can't post to <#{channel_id}> ({error}). Invite me, or pick another channel."


def digest_not_visible(project: str, channel_id: str) -> str:
    """The channel's scope does not include the project."""
    return f"Tickets of {project} may not be shown in <#{channel_id}> (the channel's scope does not include it)."


def digest_project_missing(project: str) -> str:
    """The project does not exist (or was deleted)."""
    return f"Project {project} does not exist (or I can't see it in the ticket system)."


def digest_failed_retrying(reason: str, what: str, retry_at: str) -> str:
    """Posted to the channel when a digest failed and will be retried."""
    return f":warning: The {what} digest failed ({reason}). Retrying at {retry_at}."


def digest_failed_final(reason: str, what: str, next_run: str | None) -> str:
    """Posted when the last retry failed too."""
    tail = f" The next digest is due {next_run}." if next_run else ""
    return f":warning: The {what} digest failed again ({reason}); I've stopped retrying this one.{tail}"


def digest_misconfigured(what: str, summary: str, *, admins_told: bool, next_run: str | None) -> str:
    """Posted to the channel when a digest failed on a setting only an admin can fix (not retried)."""
    told = "The admins have been told." if admins_told else "Please tell an admin."
    tail = f" The next digest is due {next_run}." if next_run else ""
    return f":warning: The {what} digest failed: the assistant is misconfigured ({summary}). {told}{tail}"


def failure_backend() -> str:
    """Why a digest failed: the ticket system."""
    return "the ticket system did not answer"


def failure_slack() -> str:
    """Why a digest failed: Slack refused the message."""
    return "Slack refused the message"


def failure_internal() -> str:
    """Why a digest failed: a bug or an unexpected error (details are in the run record and logs)."""
    return "an internal error"


def digest_paused(name: str, schedule_id: str, reason: str) -> str:
    """A digest paused itself because of a configuration problem."""
    return (
        f":pause_button: The digest {name!r} (`{schedule_id}`) is paused: {reason} "
        f"An admin can fix it with `/chatops digest edit {schedule_id} ...` and then `resume {schedule_id}`."
    )


def run_abandoned() -> str:
    """Recorded on a run whose process stopped while posting."""
    return "the process running it stopped while posting; not re-posted, to never post twice"


def preview_intro() -> str:
    """Above an ephemeral digest preview."""
    return "_Preview (only you can see this):_"


def preview_needs_project() -> str:
    """`preview` with no project and no digest for this channel."""
    return "Which project? `/chatops digest preview OPS`."


def preview_not_allowed(project: str) -> str:
    """Preview of a project that is unknown or may not be shown here (deliberately the same answer)."""
    return f"I can't show {project[:20]} here: it is not a project I know, or its tickets may not be shown in this channel."


def preview_failed(project: str, error: str) -> str:
    """The preview could not be built."""
    return f"I couldn't build the {project} digest right now: {error[:200]}"


def reminder_text(count: int) -> str:
    """Top of a reminder DM."""
    noun = "ticket has" if count == 1 else "tickets have"
    return f"Heads-up: {count} of your {noun} had no update for a while."


def reminder_mute_button() -> str:
    """The Mute button on reminder DMs."""
    return "Mute these reminders"


def reminders_muted(until: str | None) -> str:
    """After muting."""
    when = f"until {until}" if until else "until you run `/chatops digest unmute`"
    return f"Reminders muted {when}."


def reminders_unmuted() -> str:
    """After unmuting."""
    return "Reminders are on again."


def mute_usage() -> str:
    """Bad `mute` arguments."""
    return "Use `/chatops digest mute` (until unmuted) or `/chatops digest mute 7` (days, 1-365)."


def reminders_usage() -> str:
    """Bad `reminders` arguments."""
    return (
        "Use `/chatops digest reminders OPS 5` (days without update), `reminders OPS off`, "
        "or `reminders weekdays 09:30 tz=Europe/Berlin`."
    )


def reminders_status(projects: dict[str, int], when: str, enabled: bool) -> str:
    """The reminders configuration."""
    if not projects:
        return "Reminders are off. Turn them on per project: `/chatops digest reminders OPS 5`."
    rules = ", ".join(f"{p} after {d} days" for p, d in sorted(projects.items()))
    state = "" if enabled else " (paused: `/chatops digest resume reminders`)"
    return f"Reminder DMs go out {when}{state}: {rules}."


def schedules_section_intro() -> str:
    """Above the schedules in the /chatops config modal."""
    return (
        "Digests and reminders. Changes here apply at once (no Save needed) and are audited. "
        "Edit and Add open the digest editor."
    )


def schedule_row(
    *, schedule_id: str, name: str, target: str, when: str, enabled: bool, next_run: str | None
) -> str:
    """One schedule in the config modal (`name` and `target` already escaped)."""
    state = (
        f":large_green_circle: active · next run {next_run}"
        if enabled and next_run
        else ":large_green_circle: active · no next run"
        if enabled
        else ":double_vertical_bar: paused · no next run"
    )
    return f"*{name}* `{schedule_id}`\n{target} · {when}\n{state}"


def schedules_more(count: int) -> str:
    """Schedules that did not fit in the modal."""
    return f"…and {count} more: `/chatops digest list` shows every schedule."


def schedule_delete_confirm(name: str) -> str:
    """The confirmation dialog of a Delete button (`name` already escaped)."""
    return f"Delete *{name}*? It stops posting; its run history stays until housekeeping. This cannot be undone."


def schedule_paused_here(schedule_id: str, name: str) -> str:
    """A schedule was paused from the config modal."""
    return f"Paused `{schedule_id}` ({name})."


def schedule_admin_only_logged() -> str:
    """A non-admin clicked a schedule button (the modal is replaced by this)."""
    return "Only chatops admins can change schedules. Nothing was changed; the attempt was recorded."
