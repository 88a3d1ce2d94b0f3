"""Answering in a Slack thread: first feedback, claim the delivery, run the turn with live progress, deliver it,
clear the status (when Slack did not: it does on a posted reply, not on a stopped stream).

Every way of asking (mention, DM, slash command, shortcut) ends here, so all of them get the same live
progress, the same trace, and the same guarantees: one answer per delivery, an answer even when something
breaks, and never a crash of the listener.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.agent.leasing import DeliveryClaim, TurnOrigin, current_origin, pending_claim
from bot.agent.types import ProgressCallback, TurnResult
from bot.errors import SlackError
from bot.logs import get_logger, log_event
from bot.messages import agent as agent_text
from bot.messages import slack as slack_text
from bot.slack import approvals_ui
from bot.slack.feedback import record_answer
from bot.slack.progress import LiveProgress
from bot.slack.replies import deliver_turn
from bot.slack.surface import Surface
from bot.storage.events import event_key, message_key
from bot.storage.wait import is_unavailable
from bot.tools.base import Actor, ChannelType
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.context.say_stream.async_say_stream import AsyncSayStream
    from slack_bolt.context.set_status.async_set_status import AsyncSetStatus

    from bot.deps import Deps

Runner = Callable[[Actor, ProgressCallback], Awaitable[TurnResult]]
"""Runs the turn (run_turn, run_tool, ...) for the actor, with the given progress callback."""

_log = get_logger("slack.conversation")


@dataclass(frozen=True)
class Asker:
    """Who asked, as the verified payload says; the full Actor (profile, channel type) is looked up after the
    first feedback is on screen, so looking people up never delays it."""

    user_id: str
    team_id: str | None
    channel_kind: str | None = None
    """The event's `channel_type`, when it states one."""
    ext_shared: bool | None = None
    """The envelope's `is_ext_shared_channel`, when it states it."""


@dataclass(frozen=True)
class Where:
    """The thread an answer goes to, and the message that asked (for the 👀 reaction)."""

    channel: str
    thread_ts: str
    message_ts: str | None = None


def delivery_keys(*, team_id: str | None, event_id: str | None, channel: str, ts: str) -> tuple[str, ...]:
    """The dedupe keys of one delivery: its event id (when it has one) and its channel:ts."""
    key = message_key(team_id, channel, ts)
    return (event_key(team_id, event_id), key) if event_id else (key,)


async def claim(surface: Surface, *, team_id: str | None, event_id: str | None, channel: str, ts: str) -> bool:
    """Claim one delivery (its event id and its channel:ts); False when another delivery already has it."""
    keys = list(delivery_keys(team_id=team_id, event_id=event_id, channel=channel, ts=ts))
    try:
        won = await surface.deps.store.claim_delivery(keys)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # the database is down: answer (the turn says "temporarily unavailable") rather than stay silent
        log_event(_log, "database unavailable, delivery not deduplicated", logging.WARNING, event_id=event_id, channel=channel)
        return True
    if not won:
        log_event(_log, "duplicate delivery ignored", event_id=event_id, channel=channel, ts=ts)
    return won


async def say_in_thread(surface: Surface, where: Where, text: str) -> None:
    """A short plain reply in the thread (help, refusals); failures are logged, never raised."""
    try:
        await surface.client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts, text=text)
    except SLACK_FAILURES as exc:
        log_event(_log, "reply failed", logging.WARNING, channel=where.channel, error=error_code(exc))


async def tell_user_directly(surface: Surface, user_id: str, text: str) -> None:
    """A DM to the user (when their channel is out of reach)."""
    try:
        await surface.client.chat_postMessage(channel=user_id, text=text)
    except SLACK_FAILURES as exc:
        log_event(_log, "direct message failed", logging.WARNING, user=user_id, error=error_code(exc))


async def remember_answer(deps: Deps, result: TurnResult, posted: list[str]) -> None:
    """Record the message carrying the turn's trace (the last one posted) on its turn row: the audit log links a
    write to its trace through it. Failures are logged; the answer is already on screen."""
    if not result.turn_id or not posted:
        return
    try:
        await deps.store.set_answer_ts(result.turn_id, posted[-1])
    except Exception as exc:  # noqa: BLE001 - bookkeeping must never cost the user their answer
        log_event(_log, "could not record the answer message", logging.WARNING, turn_id=result.turn_id, error=repr(exc))


async def answer(
    surface: Surface,
    *,
    who: Asker | Actor,
    where: Where,
    run: Runner,
    say_stream: AsyncSayStream | None = None,
    set_status: AsyncSetStatus | None = None,
    claim_after_feedback: Callable[[], Awaitable[bool]] | None = None,
    claim_with_turn: DeliveryClaim | None = None,
    received_at: float | None = None,
) -> TurnResult | None:
    """Run one turn with live progress and deliver it in the thread; None when it was not answered here.

    `claim_after_feedback` claims the delivery once the first feedback is on screen (a first delivery: showing
    work started for a duplicate is harmless, the same status and 👀 on the same message); losing it ends here.
    With `claim_with_turn` as well (nothing visible happens between the feedback and the turn's start), the claim is
    made in the transaction that starts the turn instead (one round trip less); when the turn never started (refused
    before it, database down, crashed), `claim_after_feedback` claims before anything is delivered.
    `received_at` (time.monotonic()) is when the request reached the bot: first-feedback latency counts from it.
    """
    progress = LiveProgress(
        surface.client,
        channel=where.channel,
        thread_ts=where.thread_ts,
        user_id=who.user_id,
        team_id=who.team_id,
        message_ts=where.message_ts,
        say_stream=say_stream,
        set_status=set_status,
    )
    reachable = await progress.start()
    if reachable and progress.feedback_at is not None:
        surface.deps.metrics.first_feedback.observe(progress.feedback_at - (received_at or progress.started_at))
    if claim_with_turn is None and claim_after_feedback is not None and not await claim_after_feedback():
        await progress.drain()  # the delivery that won the claim answers, and clears the status
        return None
    if not reachable:
        await tell_user_directly(surface, who.user_id, slack_text.cannot_post_in_channel(where.channel))
        return None
    channel_type: ChannelType = "unknown"
    asker: Actor | None = None
    duplicate = False
    try:
        try:
            actor = who if isinstance(who, Actor) else await surface.directory.actor(
                user_id=who.user_id, team_id=who.team_id, channel_id=where.channel, channel_kind=who.channel_kind,
                ext_shared=who.ext_shared,
            )
            channel_type, asker = actor.channel_type, actor
            origin = current_origin.set(TurnOrigin("slack", where.channel, where.thread_ts, where.message_ts))
            claiming = pending_claim.set(claim_with_turn)
            try:
                result = await run(actor, progress)
            finally:
                pending_claim.reset(claiming)
                current_origin.reset(origin)
        except Exception as exc:  # noqa: BLE001 - the loop reports model/tool failures itself; this is a bug
            down = is_unavailable(exc)
            log_event(_log, "database unavailable" if down else "turn crashed", logging.ERROR, channel=where.channel, error=repr(exc))
            result = TurnResult(status="failed", text=agent_text.database_unavailable() if down else agent_text.internal_error())
        if claim_with_turn is not None and claim_with_turn.won is None and claim_after_feedback is not None:
            claim_with_turn.won = await claim_after_feedback()  # no turn started: claim before answering
        if claim_with_turn is not None and claim_with_turn.won is False:
            duplicate = True
            await progress.drain()  # the delivery that won the claim answers, and clears the status
            return None
        await progress.drain()
        posted = await deliver_turn(
            surface.client, surface.deps, channel=where.channel, thread_ts=where.thread_ts, result=result, progress=progress,
            channel_type=channel_type, actor=asker,
        )
        await approvals_ui.remember_approval_message(surface.deps, result, posted)
        if result.status == "paused":  # no answer row until it resumes; the audit trail links the message now
            await remember_answer(surface.deps, result, posted)
        else:  # the answer row and the turn's answer message in one transaction
            await record_answer(
                surface.deps, team_id=who.team_id, user_id=who.user_id, channel=where.channel,
                thread_ts=where.thread_ts, result=result, posted=posted, on_turn=True,
            )
        log_event(
            _log,
            "answered",
            channel=where.channel,
            thread_ts=where.thread_ts,
            status=result.status,
            calls=len(result.trace),
            ms=round(result.duration_ms),
        )
        return result
    except SlackError:
        return None
    finally:
        await progress.close()
        if not duplicate:
            await progress.clear_status()
