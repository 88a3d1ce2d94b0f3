"""What the bot says on the Slack surface: progress, mentions, slash commands, help, shortcuts, the App Home, the
agent pane, feedback and the ticket page behind unfurled links."""

from __future__ import annotations


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


def files_not_read() -> str:
    """The reply to a message that is only files."""
    return "I can't read attached files yet. Paste the relevant text into your message and ask again."


def cannot_post_in_channel(channel_id: str) -> str:
    """DM to a user whose question came from a channel the bot cannot post in."""
    return (
        f"I saw your question in <#{channel_id}> but I can't post there. "
        "Invite me with `/invite @chatops`, or ask me here in a DM."
    )


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


def slash_used(user_id: str, command: str) -> str:
    """The visible parent message of a slash command: who used which command, never its text (it may name a
    private ticket or carry a comment body); the authorized answer goes in its thread."""
    return f"<@{user_id}> used {command}"


def feedback_thanks() -> str:
    """Ephemeral reply to a 👍."""
    return "Thanks, noted: this answer helped."


def feedback_modal_intro() -> str:
    """The first line of the "what went wrong" modal."""
    return "Thanks for telling us. If you like, say what was wrong or missing; the admins read these notes."


def prompts_title() -> str:
    """The heading over the suggested prompts in the agent pane."""
    return "Try asking"


def home_summary_header() -> str:
    """The App Home heading over the admins' weekly summary."""
    return "This week's answers (admins)"


def home_summary_empty() -> str:
    """The admins' summary when nothing was answered this week."""
    return "_No answers this week yet._"


def ticket_page(key: str, product: str) -> str:
    """The body of GET /tickets/<key>: no ticket content (the page is not authenticated), only where to ask."""
    return (
        f"{key} is a ticket in chatops's {product}. Its details are shown in Slack to the people allowed to see "
        f"them: open the link's preview there, or ask chatops: /ticket {key}"
    )


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
