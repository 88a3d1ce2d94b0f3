"""The App Home tab: what the bot can do for the viewer (by their role) and their recent conversations."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.logs import get_logger, log_event
from bot.messages import slack as slack_text
from bot.policy.roles import is_admin, role_of
from bot.slack.commands import help_lines, offered_tools
from bot.slack.feedback import summary_blocks
from bot.slack.surface import Surface
from bot.slack_api.markdown import escape_mrkdwn, shorten
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.async_context import AsyncBoltContext

    from bot.storage.users import RecentConversation

RECENT_LIMIT = 8
_log = get_logger("slack.home")


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, 3_000))).to_dict()


def thread_link(team_url: str | None, conversation: RecentConversation) -> str:
    """A mrkdwn link to a conversation's thread (plain channel reference when the workspace URL is unknown)."""
    title = escape_mrkdwn(shorten(conversation.title or "(no question text)", 80)).replace("|", "¦")
    if not team_url:
        return f"{title} · <#{conversation.channel_id}>"
    url = f"{team_url.rstrip('/')}/archives/{conversation.channel_id}/p{conversation.thread_ts.replace('.', '')}"
    return f"<{url}|{title}> · <#{conversation.channel_id}>"


async def home_view(surface: Surface, *, user_id: str, team_id: str | None, bot_user_id: str | None) -> dict[str, Any]:
    """The Home tab for one viewer."""
    actor = await surface.directory.actor(user_id=user_id, team_id=team_id, channel_id=None, channel_kind="app_home")
    role = await role_of(surface.deps, user_id)
    lines = help_lines(await offered_tools(surface, actor))
    admin = await is_admin(surface.deps, user_id)
    commands = lines.commands + ([slack_text.home_config_command()] if admin else [])
    tool_lines = lines.tools
    recent = await surface.deps.store.recent_conversations(user_id, limit=RECENT_LIMIT)
    team_url = await surface.directory.team_url()
    recent_lines = [
        f"• {thread_link(team_url, c)} · <!date^{int(float(c.thread_ts))}^{{date_short_pretty}}|{c.thread_ts}>"
        if c.thread_ts.replace(".", "").isdigit()
        else f"• {thread_link(None, c)}"
        for c in recent
    ]
    blocks: list[dict[str, Any]] = [
        HeaderBlock(text="chatops").to_dict(),
        _section(slack_text.help_intro(bot_user_id)),
        ContextBlock(elements=[MarkdownTextObject(text=f"Your role: *{escape_mrkdwn(role)}*")]).to_dict(),
        _section("*Commands*\n" + ("\n".join(commands) or "_none_")),
        _section("*What I can do for you*\n" + ("\n".join(tool_lines) or "_nothing yet: ask an admin for access_")),
        DividerBlock().to_dict(),
        *(await admin_summary(surface) if admin else []),
        HeaderBlock(text="Your recent conversations").to_dict(),
        _section("\n".join(recent_lines) or slack_text.home_recent_empty()),
    ]
    return View(type="home", blocks=blocks).to_dict()


async def admin_summary(surface: Surface) -> list[dict[str, Any]]:
    """The weekly answers-and-feedback summary admins see (nothing when it cannot be read)."""
    try:
        summary = await surface.deps.store.feedback_summary(days=7)
    except Exception as exc:  # noqa: BLE001 - the rest of the Home tab still shows
        log_event(_log, "feedback summary failed", logging.WARNING, error=repr(exc))
        return []
    body = summary_blocks(summary) if summary.answers else [_section(slack_text.home_summary_empty())]
    return [HeaderBlock(text=slack_text.home_summary_header()).to_dict(), *body, DividerBlock().to_dict()]


async def publish_home(surface: Surface, *, user_id: str, team_id: str | None, bot_user_id: str | None) -> None:
    """views.publish the viewer's Home tab."""
    view = await home_view(surface, user_id=user_id, team_id=team_id, bot_user_id=bot_user_id)
    try:
        await surface.client.views_publish(user_id=user_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(_log, "views.publish failed", logging.WARNING, user=user_id, error=error_code(exc))


def register_home(app: AsyncApp, surface: Surface) -> None:
    """The app_home_opened listener."""

    async def on_home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab") != "home":
            return
        surface.tasks.spawn(
            publish_home(surface, user_id=event["user"], team_id=context.team_id, bot_user_id=context.bot_user_id),
            name="home",
        )

    app.event("app_home_opened")(on_home_opened)
