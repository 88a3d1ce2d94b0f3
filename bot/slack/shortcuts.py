"""Message shortcuts: "Ask chatops about this message" and "Create ticket from message".

Each starts (or continues) the conversation of the message's thread, with the message given to the model as
context (data, never instructions) and the answer in that thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.agent.loop import ThreadRef
from bot.messages import slack as slack_text
from bot.slack.conversation import Where, answer
from bot.slack.surface import Surface
from bot.slack_api.markdown import shorten
from integrations.llm.base import ToolChoice

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

ASK_CALLBACK = "ask_about_message"
TICKET_CALLBACK = "ticket_from_message"
MAX_CONTEXT_CHARS = 6_000


async def message_context(surface: Surface, *, channel: str, msg: dict[str, Any]) -> str:
    """The shared message as context text: who wrote it, where, and what it says."""
    author = msg.get("username") or "a bot"
    if msg.get("user"):
        name, _ = await surface.directory.profile(msg["user"])
        author = f"{name or msg['user']} (<@{msg['user']}>)"
    lines = [f"Slack message by {author} in <#{channel}> (ts {msg.get('ts')}):", shorten(msg.get("text") or "", MAX_CONTEXT_CHARS)]
    if msg.get("files"):
        lines.append(f"[{len(msg['files'])} attached file(s), not readable]")
    return "\n".join(lines)


async def run_shortcut(surface: Surface, *, payload: dict[str, Any], respond: AsyncRespond) -> None:
    """Answer a message shortcut in the message's thread."""
    msg: dict[str, Any] = payload.get("message") or {}
    channel = (payload.get("channel") or {}).get("id")
    user_id = payload["user"]["id"]
    team_id = (payload.get("team") or {}).get("id") or payload["user"].get("team_id")
    if not channel or not msg.get("ts"):
        await respond(text=slack_text.shortcut_unavailable(), response_type="ephemeral")
        return
    actor = await surface.directory.actor(user_id=user_id, team_id=team_id, channel_id=channel)
    context = await message_context(surface, channel=channel, msg=msg)
    if payload.get("callback_id") == TICKET_CALLBACK:
        offered = {t.name for t in await surface.deps.authorizer.offered_tools(actor, surface.deps.tools)}
        if "create_ticket" not in offered:
            await respond(text=slack_text.slash_unavailable("Create ticket from message"), response_type="ephemeral")
            return
        text, choice = slack_text.ticket_from_message_prompt(), ToolChoice(type="tool", name="create_ticket")
    else:
        text, choice = slack_text.ask_about_message_prompt(), None
    thread_ts = msg.get("thread_ts") or msg["ts"]
    thread = ThreadRef(team_id=team_id or "", channel_id=channel, thread_ts=thread_ts)
    await answer(
        surface,
        who=actor,
        where=Where(channel=channel, thread_ts=thread_ts, message_ts=msg["ts"]),
        run=lambda actor, progress: surface.agent.run_turn(
            actor=actor, thread=thread, text=text, tool_choice=choice, on_progress=progress, context=context
        ),
    )


def register_shortcuts(app: AsyncApp, surface: Surface) -> None:
    """The message shortcut listeners."""

    async def on_shortcut(ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        surface.tasks.spawn(run_shortcut(surface, payload=shortcut, respond=respond), name=f"shortcut:{shortcut.get('callback_id')}")

    app.shortcut(ASK_CALLBACK)(on_shortcut)
    app.shortcut(TICKET_CALLBACK)(on_shortcut)
