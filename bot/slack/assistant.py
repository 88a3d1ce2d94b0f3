"""Slack's agent view (the split pane and the app's Messages tab): suggested prompts, thread titles, and what the
person is viewing.

Under `agent_view` a conversation starts when the person opens the Messages tab (`app_home_opened` with
`tab == "messages"`, which replaces `assistant_thread_started`); every DM message they send is a thread root
and the bot answers in its thread (bot/slack/listeners.py). This module adds:

- suggested prompts for that person, set with `assistant.threads.setSuggestedPrompts` **without** `thread_ts`
  (with one the call fails silently under agent_view): only what their role may do here (no write prompts for a
  viewer), naming a project they may see;
- a title for each new DM thread, from its first question (`assistant.threads.setTitle`);
- what the person is viewing (`app_context_changed`, or the context on the message / Messages-tab event), kept
  per person and given to the model as data in the first message of a new thread, by bot/slack/view_context.py,
  only after Slack confirms the person may read that channel.

Bolt's `AsyncAssistant` middleware is not used: it is built around the legacy `assistant_thread_started` /
`assistant_thread_context_changed` events, and its `set_suggested_prompts` passes the thread's ts, which agent_view
rejects silently.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.logs import get_logger, log_event
from bot.messages import slack as slack_text
from bot.slack.surface import Surface
from bot.slack_api.markdown import shorten
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.async_context import AsyncBoltContext

    from bot.tools.base import Actor

MAX_PROMPTS = 4
TITLE_CHARS = 60
CONTEXT_MAX_AGE = timedelta(minutes=30)
"""A remembered view older than this is stale (the person has moved on without Slack telling us)."""
_MENTION = re.compile(r"<[@#!][^>]*>")
_log = get_logger("slack.assistant")


def entities_of(value: Any) -> list[dict[str, Any]]:
    """The well-formed context entities of an event's `context` / `app_context` (anything else is dropped)."""
    if not isinstance(value, dict):
        return []
    raw = value.get("entities")
    if not isinstance(raw, list):
        return []
    return [e for e in raw[:20] if isinstance(e, dict) and isinstance(e.get("type"), str) and "value" in e]


def thread_title(question: str) -> str:
    """A thread's title from its first question: one line, mentions removed, at most TITLE_CHARS."""
    text = " ".join(_MENTION.sub("", question).split())
    return shorten(text, TITLE_CHARS) if text else ""


async def prompt_projects(surface: Surface, actor: Actor) -> list[str]:
    """Projects this person may see here, sorted (the catalog's, when they may see every project)."""
    visible = await surface.deps.authorizer.visible_projects(actor)
    if visible is None:
        visible = (await surface.deps.catalog.get()).known
    return sorted(visible)


async def suggested_prompts(surface: Surface, actor: Actor) -> list[dict[str, str]]:
    """Up to four prompts for this person: only tools their role is offered, a project they may see."""
    offered = {t.name for t in await surface.deps.authorizer.offered_tools(actor, surface.deps.tools)}
    projects = await prompt_projects(surface, actor)
    project = projects[0] if projects else None
    return slack_text.suggested_prompts(offered, project)[:MAX_PROMPTS]


async def on_messages_tab(surface: Surface, *, event: dict[str, Any], team_id: str | None) -> None:
    """The person opened the Messages tab / agent pane: remember their view, set their prompts."""
    user_id, channel = str(event.get("user") or ""), str(event.get("channel") or "")
    if not user_id or not channel:
        log_event(_log, "messages tab event without user or channel ignored", logging.WARNING)
        return
    entities = entities_of(event.get("context"))
    if entities:
        await surface.deps.store.save_agent_context(user_id, entities)
    actor = await surface.directory.actor(user_id=user_id, team_id=team_id, channel_id=channel, channel_kind="im")
    prompts = await suggested_prompts(surface, actor)
    try:
        # no thread_ts: under agent_view a call with one fails silently
        await surface.client.assistant_threads_setSuggestedPrompts(channel_id=channel, title=slack_text.prompts_title(), prompts=prompts)
    except SLACK_FAILURES as exc:
        log_event(_log, "setSuggestedPrompts failed", logging.WARNING, user=user_id, error=error_code(exc))


async def title_thread(surface: Surface, *, channel: str, thread_ts: str, question: str) -> None:
    """Title a new DM thread from its first question (logged, never raised, when Slack refuses)."""
    title = thread_title(question)
    if not title:
        return
    try:
        await surface.client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title=title)
    except SLACK_FAILURES as exc:
        log_event(_log, "setTitle failed", logging.INFO, channel=channel, error=error_code(exc))


async def remember_view(surface: Surface, event: dict[str, Any]) -> None:
    """`app_context_changed`: keep what the person is viewing now (an empty context forgets it)."""
    user_id = event.get("user")
    if not isinstance(user_id, str) or not user_id:
        log_event(_log, "app_context_changed without a user ignored", logging.WARNING)
        return
    await surface.deps.store.save_agent_context(user_id, entities_of(event.get("context")))


async def view_of(surface: Surface, *, user_id: str, event: dict[str, Any]) -> list[dict[str, Any]]:
    """What the person is viewing as they ask: the message's own context, else the latest remembered one."""
    for key in ("app_context", "context"):
        entities = entities_of(event.get(key))
        if entities:
            return entities
    return await surface.deps.store.agent_context(user_id, max_age=CONTEXT_MAX_AGE)


def is_new_dm_thread(event: dict[str, Any]) -> bool:
    """A DM message that starts a thread (under agent_view every new question is a thread root)."""
    return event.get("channel_type") == "im" and not event.get("thread_ts")


def register_agent_view(app: AsyncApp, surface: Surface) -> None:
    """The Messages-tab and context listeners (registered before the App Home's, which handles tab == "home")."""

    async def messages_tab(event: dict[str, Any]) -> bool:
        return event.get("tab") == "messages"

    async def on_home_messages(event: dict[str, Any], context: AsyncBoltContext) -> None:
        surface.tasks.spawn(on_messages_tab(surface, event=event, team_id=context.team_id), name="agent:messages-tab")

    async def on_context_changed(event: dict[str, Any]) -> None:
        surface.tasks.spawn(remember_view(surface, event), name="agent:context")

    app.event("app_home_opened", matchers=[messages_tab])(on_home_messages)
    app.event("app_context_changed")(on_context_changed)
