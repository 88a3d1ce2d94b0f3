"""Mentions and DMs: an @-mention in a channel or any DM message starts or continues the thread's conversation.

Bolt acks events before listeners run; the listener only hands the work to the background. In channels only
mentions are answered (the `message` copy of a mention is skipped, and dedupe on channel:ts would catch it
anyway); in DMs every user message is. The bot's own messages are always ignored (Bolt drops them too); other
bots' are ignored unless their bot id is in CHATOPS_ALLOWED_BOT_IDS, and then they are answered as that bot's
user (from the event, or `bots.info` for an integration's `bot_message` that names no user), under the policy
like anyone else.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from bot.agent.leasing import DeliveryClaim
from bot.agent.loop import ThreadRef
from bot.logs import get_logger, log_event
from bot.messages import agent as agent_text
from bot.messages import slack as slack_text
from bot.slack import assistant
from bot.slack.conversation import Asker, Where, answer, claim, delivery_keys, say_in_thread
from bot.slack.payloads import EventFields
from bot.slack.surface import Surface
from bot.slack.view_context import view_context
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.async_context import AsyncBoltContext
    from slack_bolt.context.say_stream.async_say_stream import AsyncSayStream
    from slack_bolt.context.set_status.async_set_status import AsyncSetStatus
    from slack_bolt.request.async_request import AsyncBoltRequest

    from bot.agent.types import ProgressCallback, TurnResult
    from bot.tools.base import Actor

ANSWERED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""Message subtypes that are a person asking something; edits, joins, deletions and bot posts are not."""
BOT_SUBTYPES = ANSWERED_SUBTYPES | {"bot_message"}
"""The same for an allowed bot (an integration's post has subtype bot_message)."""
_log = get_logger("slack.listeners")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The question without the bot's own mention(s)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text)
    return text.strip()


def is_from_a_bot(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """True for messages posted by any bot or app (including this one)."""
    return bool(event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("user") == bot_user_id)


def is_retry(headers: dict[str, Any]) -> bool:
    """True for Slack's redelivery of an event (X-Slack-Retry-Num ≥ 1; Socket Mode sends 0 on first delivery)."""
    values = headers.get("x-slack-retry-num") or []
    value = values[0] if isinstance(values, list | tuple) and values else values
    return str(value).strip().isdigit() and int(str(value).strip()) > 0


def is_own(event: dict[str, Any], *, bot_user_id: str | None, bot_id: str | None) -> bool:
    """True for this bot's own messages (by its user id or its bot id)."""
    return bool(
        (bot_user_id and event.get("user") == bot_user_id) or (bot_id and event.get("bot_id") == bot_id)
    )


def wants_answer(
    event: dict[str, Any],
    bot_user_id: str | None,
    *,
    bot_id: str | None = None,
    allowed_bots: Collection[str] = (),
) -> bool:
    """Whether this event is someone asking the bot: a person, or a bot in `allowed_bots` (never the bot itself;
    the `message` copies of mentions are not). Read through the typed `EventFields`: a malformed event is no one."""
    fields = EventFields.of(event)
    if fields is None or is_own(event, bot_user_id=bot_user_id, bot_id=bot_id):
        return False
    from_bot = is_from_a_bot(event, bot_user_id)
    if from_bot and fields.bot_id not in allowed_bots:
        return False
    if not from_bot and not fields.user:
        return False
    if fields.type == "app_mention":
        return True
    subtypes = BOT_SUBTYPES if from_bot else ANSWERED_SUBTYPES
    return fields.subtype in subtypes and fields.channel_type == "im"


async def asker_id(surface: Surface, event: dict[str, Any]) -> str | None:
    """The user id to answer as: the event's user, or the user of the bot that posted it (None when it has none)."""
    if event.get("user"):
        return str(event["user"])
    bot_id = str(event.get("bot_id") or "")
    try:
        response = await surface.client.bots_info(bot=bot_id)
    except SLACK_FAILURES as exc:
        log_event(_log, "bots.info failed, message ignored", logging.WARNING, bot=bot_id, error=error_code(exc))
        return None
    user_id = (response.get("bot") or {}).get("user_id")
    if not user_id:
        log_event(_log, "allowed bot has no user to act as, message ignored", logging.WARNING, bot=bot_id)
    return str(user_id) if user_id else None


async def handle_message(
    surface: Surface,
    *,
    body: dict[str, Any],
    event: dict[str, Any],
    bot_user_id: str | None,
    team_id: str | None,
    retried: bool,
    say_stream: AsyncSayStream | None,
    set_status: AsyncSetStatus | None,
    received_at: float | None = None,
) -> None:
    """Answer the question in the thread of the message that asked, once per message whatever the deliveries.

    A first delivery shows work started before claiming (the claim is a database write, and the user should
    not wait for it); a retry claims first, so a late one never puts a status back on a finished thread.
    """
    fields = EventFields.of(event)
    if fields is None or fields.channel is None or not isinstance(fields.channel, str) or fields.ts is None:
        log_event(_log, "message without channel or ts ignored", logging.WARNING, event_id=body.get("event_id"))
        return
    channel, ts = fields.channel, fields.ts
    user_id = await asker_id(surface, event)
    if user_id is None:
        return

    async def claim_it() -> bool:
        return await claim(surface, team_id=team_id, event_id=body.get("event_id"), channel=channel, ts=ts)

    where = Where(channel=channel, thread_ts=fields.thread_ts or ts, message_ts=ts)
    text = strip_mention(fields.text or "", bot_user_id)
    limit = surface.deps.settings.chatops_max_message_chars
    if not text or len(text) > limit or retried:
        if not await claim_it():
            return
        if not text:
            await say_in_thread(surface, where, slack_text.files_not_read() if event.get("files") else slack_text.empty_mention_help(bot_user_id))
            return
        if len(text) > limit:
            await say_in_thread(surface, where, agent_text.message_too_long(len(text), limit))
            return
    thread = ThreadRef(team_id=team_id or "", channel_id=channel, thread_ts=where.thread_ts)

    async def run(actor: Actor, progress: ProgressCallback) -> TurnResult:
        # after the first feedback is on screen and the delivery is claimed: a duplicate never titles or reads
        context = await agent_thread_start(surface, event=event, user_id=user_id, team_id=team_id, text=text)
        return await surface.agent.run_turn(actor=actor, thread=thread, text=text, on_progress=progress, context=context)

    await answer(
        surface,
        who=Asker(
            user_id=user_id,
            team_id=team_id,
            channel_kind=fields.channel_type,
            ext_shared=body.get("is_ext_shared_channel") if isinstance(body.get("is_ext_shared_channel"), bool) else None,
        ),
        where=where,
        run=run,
        say_stream=say_stream,
        set_status=set_status,
        claim_after_feedback=None if retried else claim_it,
        # a new DM thread is titled and its context read before the turn starts: a duplicate must not, so it
        # claims first; otherwise the claim is made with the turn's start
        claim_with_turn=None if retried or assistant.is_new_dm_thread(event) else DeliveryClaim(
            delivery_keys(team_id=team_id, event_id=body.get("event_id"), channel=channel, ts=ts)
        ),
        received_at=received_at,
    )


async def agent_thread_start(
    surface: Surface, *, event: dict[str, Any], user_id: str, team_id: str | None, text: str
) -> str | None:
    """A new DM thread (agent view): title it from its question; the context of what the person is viewing, when
    Slack confirms they may read it (else None). Never raises: the question is answered either way."""
    if not assistant.is_new_dm_thread(event) or event.get("user") != user_id:
        return None
    try:
        surface.tasks.spawn(
            assistant.title_thread(surface, channel=event["channel"], thread_ts=event["ts"], question=text), name="agent:title"
        )
        entities = await assistant.view_of(surface, user_id=user_id, event=event)
        return await view_context(surface, user_id=user_id, team_id=team_id, entities=entities) if entities else None
    except Exception as exc:  # noqa: BLE001 - context is a bonus; the answer must not depend on it
        log_event(_log, "agent context failed", logging.WARNING, error=repr(exc))
        return None


def register_conversation_listeners(app: AsyncApp, surface: Surface) -> None:
    """app_mention and message listeners."""

    async def on_event(
        body: dict[str, Any],
        event: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
        say_stream: AsyncSayStream | None = None,
        set_status: AsyncSetStatus | None = None,
    ) -> None:
        received_at = time.monotonic()
        allowed = surface.deps.settings.chatops_allowed_bot_ids
        if not wants_answer(event, context.bot_user_id, bot_id=context.bot_id, allowed_bots=allowed):
            return
        surface.tasks.spawn(
            handle_message(
                surface,
                body=body,
                event=event,
                bot_user_id=context.bot_user_id,
                team_id=context.team_id or body.get("team_id"),
                retried=is_retry(request.headers),
                say_stream=say_stream,
                set_status=set_status,
                received_at=received_at,
            ),
            name=f"event:{body.get('event_id')}",
        )

    app.event("app_mention")(on_event)
    app.event("message")(on_event)
