"""Every user-facing string, as small functions (bolt's logger/messages.py pattern). Append; keep them short."""

from __future__ import annotations


def missing_api_key() -> str:
    """Said when the model is needed but ANTHROPIC_API_KEY is not set."""
    return (
        "No model API key: set ANTHROPIC_API_KEY in the environment or in .env "
        "(and ANTHROPIC_BASE_URL only if you use a proxy)."
    )


# ---------------------------------------------------------------- Slack surface (bot/slack/)


def working_status() -> str:
    """The thread status while a turn runs (Slack shows it after the app's name)."""
    return "is working on it…"


def loading_messages() -> list[str]:
    """Rotating loading messages under the status (Slack allows up to 10)."""
    return ["Reading your question…", "Checking the tickets…", "Putting the answer together…"]


def empty_mention_help(bot_user_id: str | None) -> str:
    """The reply to a mention with no question in it."""
    me = f"<@{bot_user_id}>" if bot_user_id else "me"
    return (
        f"Hi! Ask {me} about tickets in plain words, e.g. _{me} what is blocked in OPS?_ or "
        f"_{me} summarize OPS-12_. Reply in the thread to follow up. `/chatops help` lists what you can do."
    )


def message_too_long(length: int, limit: int) -> str:
    """The reply to a question longer than the bot takes."""
    return (
        f"Your message is {length:,} characters; I can take up to {limit:,}. "
        "Please shorten it, or put the details in a ticket and ask me about the ticket."
    )


def files_not_read() -> str:
    """The reply to a message that is only files."""
    return "I can't read attached files yet. Paste the relevant text into your message and ask again."


def cannot_post_in_channel(channel_id: str) -> str:
    """DM to a user whose question came from a channel the bot cannot post in."""
    return (
        f"I saw your question in <#{channel_id}> but I can't post there. "
        "Invite me with `/invite @chatops`, or ask me here in a DM."
    )


def internal_error() -> str:
    """The answer when something unexpected broke while answering."""
    return "Sorry, something went wrong on my side while answering. Nothing was changed; please try again."


def slash_usage(command: str) -> str:
    """How to use a slash command (sent ephemerally on a usage error)."""
    usages = {
        "/ticket": "`/ticket OPS-12` shows a ticket. You can also describe it: `/ticket the login bug in OPS`.",
        "/tickets": "`/tickets open bugs in OPS assigned to me` searches tickets in plain words.",
        "/comment": "`/comment OPS-12 Deployed the fix to staging` adds a comment to a ticket.",
        "/summary": "`/summary OPS-12` summarizes a ticket; `/summary OPS` or `/summary my work` gives a workload digest.",
        "/chatops": "`/chatops help` lists what you can do · `/chatops whoami` shows your role · "
        "`/chatops config` (admins) · `/chatops digest …` manages scheduled digests.",
    }
    return usages.get(command, f"Unknown command {command!r}.")


def slash_unavailable(command: str) -> str:
    """A command whose tool the caller may not use here."""
    return f"You can't use `{command}` here. `/chatops help` lists what you can do."


def help_intro(bot_user_id: str | None) -> str:
    """The first line of /chatops help and of the App Home."""
    me = f"<@{bot_user_id}>" if bot_user_id else "@chatops"
    return f"Mention {me} in a channel or DM me, in plain words; I answer in the thread and you can follow up there."


def whoami(user_id: str, role: str, name: str | None, tools: int) -> str:
    """The reply to /chatops whoami."""
    who = f"<@{user_id}>" + (f" ({name})" if name else "")
    return f"You are {who}, role *{role}*. Here you may use {tools} tool{'s' if tools != 1 else ''} (`/chatops help` lists them)."


def ask_about_message_prompt() -> str:
    """The question behind the “Ask chatops about this message” shortcut."""
    return "Explain the Slack message given as context and, if it concerns tickets, look them up and suggest next steps."


def ticket_from_message_prompt() -> str:
    """The request behind the “Create ticket from message” shortcut."""
    return "Create a ticket from the Slack message given as context: a clear summary, and the details in the description."


def shortcut_unavailable() -> str:
    """A shortcut used where the bot cannot answer in the thread."""
    return "I can't post in this conversation. Invite me with `/invite @chatops` and try again."


def home_recent_empty() -> str:
    """App Home when the user has no conversations yet."""
    return "No conversations yet. Mention me in a channel or send me a DM to start one."


# ---------------------------------------------------------------- agent loop (bot/agent/)


def empty_question() -> str:
    """The answer to an empty question (nothing is stored)."""
    return (
        "Ask me about tickets in plain words, e.g. _what is blocked in OPS?_, _summarize OPS-12_ or "
        "_create a bug in OPS: login fails on Safari_."
    )


def model_busy() -> str:
    """The model API kept answering 429/529 after our retries."""
    return "The AI service is overloaded right now, so I couldn't answer. Your question is saved; please ask again in a minute."


def model_unavailable() -> str:
    """The model API was down, slow or unreachable after our retries."""
    return "I couldn't reach the AI service (it timed out or is down). Your question is saved; please try again shortly."


def model_request_failed() -> str:
    """The model API rejected our request (a bug on our side, logged)."""
    return "The AI service rejected my request; this is a problem on our side and it was logged. Nothing was changed."


def misconfigured(summary: str, *, told: bool) -> str:
    """The asker's answer when a setting an admin must fix stopped the turn (`summary` names the setting)."""
    who = "The admins have been told." if told else "Ask an admin to run `chatops doctor`."
    return f"I can't answer right now: the assistant is misconfigured ({summary}). {who}"


def misconfiguration_alert(
    summary: str, detail: str, *, asker: str | None, channel: str | None, job: str | None = None
) -> str:
    """The admins' DM about a misconfiguration (at most one per problem per hour); `job` names a scheduled job
    that met it (no one asked)."""
    lines = [f":warning: chatops is misconfigured: {summary}."]
    if detail:
        lines.append(f"The service answered: {detail}.")
    if asker and channel:
        where = "a direct message" if channel.startswith("D") else f"<#{channel}>"
        lines.append(f"Seen when <@{asker}> asked in {where}.")
    elif job:
        lines.append(f"Seen by {job}" + (f" for <#{channel}>." if channel else "."))
    lines.append("`chatops doctor` on the bot's host checks the fix. You get this at most once an hour per problem.")
    return "\n".join(lines)


def model_refused() -> str:
    """The model declined to answer."""
    return "I can't help with that request. If you think this is a mistake, try rephrasing what you need."


def empty_answer() -> str:
    """The model finished without writing an answer."""
    return "I finished without a written answer. The steps I took are in the trace; please rephrase or ask again."


def answer_truncated() -> str:
    """The answer hit the output limit twice."""
    return "\n\n_(My answer was cut off at the length limit. Ask for a narrower answer, e.g. fewer tickets.)_"


def context_too_long() -> str:
    """The conversation no longer fits the model's context window."""
    return "This thread has grown too long for me to read. Start a new thread (a new message) and ask again."


def step_cap_reached(steps: int) -> str:
    """The turn used all its model steps."""
    return (
        f"I stopped after {steps} steps without finishing. What I did so far is in the trace; "
        "try a narrower question or split it into parts."
    )


def approval_needed(description: str) -> str:
    """Said when a write waits for Approve/Cancel."""
    return f"This needs your confirmation before I do it:\n{description}"


def approval_unknown() -> str:
    """A resume for an approval that does not exist."""
    return "I can't find that approval request any more; nothing was done."


def approval_already_decided(status: str) -> str:
    """A second Approve/Cancel of the same request (never claiming an outcome nobody saw)."""
    if status == "approved":
        return "This request was already approved and is being carried out; its outcome is not known yet. Nothing more was done."
    if status == "unknown":
        return "This request was approved, but I could not tell whether it was applied (I was restarted while doing it). Nothing more was done; please check the ticket."
    return f"This request was already {status}; nothing more was done."


def action_description(tool: str, arguments: dict[str, object]) -> str:
    """The exact action a call performs, in human words (shown on Approve/Cancel)."""

    def q(name: str) -> str:
        return f"“{arguments.get(name)}”"

    key = arguments.get("key")
    if tool == "create_ticket":
        extra = f", assigned to {arguments['assignee']}" if arguments.get("assignee") else ""
        kind = arguments.get("issue_type") or "ticket"
        return f"Create a {kind} in {arguments.get('project')}: {q('summary')}{extra}"
    if tool == "add_comment":
        return f"Add a comment to {key}: {q('body')}"
    if tool == "transition_ticket":
        return f"Move {key} to {q('status')}"
    if tool == "assign_ticket":
        who = arguments.get("assignee")
        return f"Assign {key} to {who}" if who else f"Unassign {key}"
    if tool == "update_ticket":
        changes = ", ".join(f"{k} → {v!r}" for k, v in arguments.items() if k != "key" and v is not None)
        return f"Update {key}: {changes}"
    shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    if "__" in tool:  # a tool from an MCP server: <server>__<tool>
        server, name = tool.split("__", 1)
        return f"Run {name} on MCP server {server} ({tool}) with {shown or 'no arguments'}"
    return f"Run {tool}({shown})"


def shell_banner(user_id: str) -> str:
    """The first line of `chatops shell`."""
    return f"chatops shell — acting as {user_id}. Ask about tickets; an empty line or Ctrl-D quits."


def shell_confirm(description: str) -> str:
    """The shell's approval prompt."""
    return f"Confirm: {description} [y/N] "


# ---------------------------------------------------------------- schedules: digests, reminders (bot/scheduler/)


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


# ---------------------------------------------------------------- approvals and the admin modal (bot/slack/approval_blocks.py, approvals_ui.py, admin_*.py)


def approval_title() -> str:
    """The first line of an Approve/Cancel message."""
    return "Confirm this change before I make it"


def approval_footer(requester_id: str, expires_epoch: int, expires_iso: str) -> str:
    """Who may decide and until when (Slack renders the date in the reader's time zone)."""
    return (
        f"Requested by <@{requester_id}>. Only they or a chatops admin can approve or cancel. "
        f"Expires <!date^{expires_epoch}^{{date_short_pretty}} at {{time}}|{expires_iso}>."
    )


def approval_not_yours(requester_id: str) -> str:
    """Someone other than the requester (and not an admin) clicked Approve/Cancel."""
    return f"Only <@{requester_id}> (who asked) or a chatops admin can approve or cancel this. Nothing was done."


def approval_stale_button() -> str:
    """A click on buttons rendered by an older version of the bot."""
    return "These buttons are from an older version of chatops and no longer work. Ask again to get a fresh request."


def approval_expired(expires_iso: str) -> str:
    """A click after the request expired."""
    return f"This request expired at {expires_iso} and was not carried out. Ask again if it is still needed."


def approval_no_longer_permitted() -> str:
    """Approve clicked, but the policy no longer allows the action (changed since the request)."""
    return "This action is no longer permitted under the current policy, so it was not carried out."


def approval_outcome(status: str, decided_by: str | None, at_iso: str) -> str:
    """The line that replaces the buttons once a request is decided."""
    who = f" by <@{decided_by}>" if decided_by and decided_by != "timeout" else ""
    words = {
        "approved": "Approved — being carried out, outcome not known yet",
        "done": "Approved and done",
        "failed": "Approved, but it failed",
        "cancelled": "Cancelled",
        "expired": "Expired without an answer — not done",
        "unknown": "Approved, but interrupted by a restart — outcome unknown, check the ticket",
    }
    return f"{words.get(status, status.capitalize())}{who} · {at_iso}"


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


# ---------------------------------------------------------------- ticket tools (bot/tools/)


def no_ticket(key: str) -> str:
    """An unknown ticket, or one the asker may not see here (the same words, so nothing is revealed)."""
    return f"No ticket {key}"


def project_not_available(key: str) -> str:
    """An unknown project, or one the asker may not see here (the same words, so nothing is revealed)."""
    return f"No project {key} is available here."


def nothing_visible_here() -> str:
    """A search where the asker may see no project at all in this channel."""
    return "No projects are visible in this channel, so there is nothing to search. Try a DM or another channel."


def me_unknown(label: str) -> str:
    """'me' was asked for but the asker maps to no person in the ticket system."""
    return (
        f"I can't tell who {label} is in the ticket system (no linked account, and the Slack email matches nobody). "
        "Name the person instead of 'me', or ask an admin to link the account."
    )


def no_person_matches(query: str) -> str:
    """A person name or email that matches nobody."""
    return f"No person matches {query!r}. Try the full name or the email address."


def several_people_match(query: str, candidates: list[str]) -> str:
    """A person name that matches more than one person."""
    return (
        f"{query!r} matches {len(candidates)} people: {'; '.join(candidates)}. "
        "Ask the user which one they mean, then use that full name or email."
    )


def results_cut(shown: int, total: int | str, hint: str) -> str:
    """A result list shortened to fit: how many are shown, and how to see the rest."""
    return f"Showing {shown} of {total}. {hint}"


def text_cut(kept: int, total: int) -> str:
    """The marker at the end of a long text that was shortened."""
    return f"… [cut: showing {kept} of {total} characters]"


def no_search_matches() -> str:
    """A search with no results."""
    return "No tickets match these filters."


def model_summary_unavailable() -> str:
    """summarize_ticket could not reach the model and condensed the ticket itself."""
    return "The AI summary is unavailable right now; this is a mechanical condensation of the ticket."


# ---------------------------------------------------------------- chatops doctor (bot/doctor.py)


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


def config_env_admin(user_id: str) -> str:
    """An admin from CHATOPS_ADMINS was given another role in the modal."""
    return f"<@{user_id}> is an admin through CHATOPS_ADMINS; change the environment instead"


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


def approval_state_lost(status: str) -> str:
    """An approval was decided, but the paused request behind it could not be read back (closed, never run)."""
    if status in ("cancelled", "expired"):
        return f"This request is now {status}. Nothing was done."
    return (
        "I couldn't carry out this request: its saved details could not be read back (it may predate an update). "
        "Nothing was done; ask again if it is still needed."
    )


def slash_used(user_id: str, command: str) -> str:
    """The visible parent message of a slash command: who used which command, never its text (it may name a
    private ticket or carry a comment body); the authorized answer goes in its thread."""
    return f"<@{user_id}> used {command}"


def config_user_unverified(user_id: str) -> str:
    """A person given a role could not be checked with Slack in time (the save is refused, nothing changed)."""
    return f"Couldn't verify <@{user_id}> with Slack just now. Nothing was saved; press Save again."


# ---------------------------------------------------------------- durable turns (issue #10)


def database_unavailable() -> str:
    """A question asked while the database does not answer."""
    return "I'm temporarily unavailable (my database is not answering), so I could not work on this. Nothing was changed; please try again in a minute."


def restarted_rerunning() -> str:
    """An interrupted question that only read: it is answered again."""
    return "I was restarted while working on this; nothing had been changed, so I'm answering it again now."


def restarted_ended(facts: list[str]) -> str:
    """An interrupted question that could not be re-run: what is known, and what to do."""
    known = " ".join(facts) if facts else "Nothing was changed."
    return f"I was restarted while working on this and could not finish it. {known} Please ask again if you still need it."


def write_outcome_fact(description: str, outcome: str, link: str | None) -> str:
    """One write of an interrupted turn, as far as we know (`done`, `not_done` or `unknown`)."""
    where = f" ({link})" if link else ""
    if outcome == "done":
        return f"This was done: {description}{where}."
    if outcome == "not_done":
        return f"This was not done: {description}{where}."
    return f"I could not tell whether this was done: {description} — please check{where or ' the ticket'}."


# ---------------------------------------------------------------- the config modal's fields and MCP section (bot/slack/admin_*.py, mcp_*.py)


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


def help_chatops_commands(*, admin: bool) -> list[str]:
    """`/chatops help`'s lines about `/chatops` itself (non-admins only see what they may use)."""
    if admin:
        return [
            "• `/chatops whoami` shows your role · `/chatops digest …` manages scheduled digests",
            "• `/chatops config` opens the configuration (admins)",
        ]
    return [
        "• `/chatops whoami` shows your role · `/chatops digest preview` shows today's digest to you · "
        "`/chatops digest mute` pauses your reminders"
    ]


def home_config_command() -> str:
    """The App Home's line about `/chatops config` (admins only)."""
    return "• `/chatops config` opens the configuration"


def suggested_prompts(offered: set[str], project: str | None) -> list[dict[str, str]]:
    """The agent pane's suggested prompts: only for tools this person is offered, about a project they may see."""
    prompts: list[dict[str, str]] = []
    if "search_tickets" in offered:
        prompts.append({"title": "My open tickets", "message": "Which tickets assigned to me are still open?"})
        if project:
            prompts.append({"title": f"Urgent in {project}", "message": f"Which {project} tickets are high priority or blocked?"})
    if "workload_digest" in offered and project:
        prompts.append({"title": f"{project} workload", "message": f"Summarize the current workload in {project}."})
    if "create_ticket" in offered and project:
        prompts.append({"title": f"New {project} ticket", "message": f"Help me create a ticket in {project}."})
    elif "add_comment" in offered and "search_tickets" in offered:
        prompts.append({"title": "Comment on a ticket", "message": "Help me add a comment to one of my tickets."})
    prompts.append({"title": "What can you do?", "message": "What can you do for me?"})
    return prompts
