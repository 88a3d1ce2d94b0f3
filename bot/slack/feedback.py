"""👍/👎 on every answer: Slack's feedback buttons, one stored rating per person per answer, an optional "what went
wrong" modal after a 👎, and the admins' weekly summary for the App Home.

The buttons carry only `up` / `down`. A click is matched to its answer by the message Slack says was clicked
(team, channel, ts from the verified payload), never by anything the button carries; a click on a message that is
not a recorded answer of this workspace (deleted, another workspace's, forged) is a logged no-op. An ephemeral
answer (a slash command answered to its asker only, through the response_url) has no ts the app can learn: it is
recorded under its turn (`eph:<turn id>`, see EPHEMERAL_TS), and its click, which Slack marks `is_ephemeral`, finds it by the
turn its block id names, counted only when the clicker is the asker (nobody else saw it).
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject
from slack_sdk.models.views import View

from bot.logs import get_logger, log_event
from bot.messages import slack as slack_text
from bot.slack.payloads import BlockActions, ViewPayload
from bot.slack_api.markdown import escape_mrkdwn
from bot.storage.feedback import COMMENT_MAX_CHARS, RATINGS, AnswerRecord, FeedbackSummary
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.agent.types import TurnResult
    from bot.deps import Deps
    from bot.slack.surface import Surface
    from bot.tools.base import Actor

FEEDBACK_ACTION = "answer_feedback"
COMMENT_CALLBACK = "answer_feedback_comment"
COMMENT_BLOCK, COMMENT_INPUT = "what_went_wrong", "text"
_log = get_logger("slack.feedback")


@functools.cache
def _feedback_template() -> dict[str, Any]:
    """The feedback buttons, built and validated through slack_sdk's models once per process."""
    return ContextActionsBlock(
        block_id=BLOCK_PREFIX,
        elements=[
            FeedbackButtonsElement(
                action_id=FEEDBACK_ACTION,
                positive_button=FeedbackButtonObject(
                    text=PlainTextObject(text="Good answer"), accessibility_label="This answer helped", value="up"
                ),
                negative_button=FeedbackButtonObject(
                    text=PlainTextObject(text="Bad answer"), accessibility_label="This answer did not help", value="down"
                ),
            )
        ],
    ).to_dict()


def feedback_block(turn_id: str) -> dict[str, Any]:
    """The feedback buttons under an answer (a fresh block id per turn, as Slack asks): a copy of the template,
    which costs a turn nothing of the models' building and validation."""
    block = copy.deepcopy(_feedback_template())
    block["block_id"] = f"{BLOCK_PREFIX}{turn_id}"[:255]
    return block


async def record_answer(
    deps: Deps,
    *,
    team_id: str | None,
    user_id: str,
    channel: str,
    thread_ts: str,
    result: TurnResult,
    posted: list[str],
    on_turn: bool = False,
) -> None:
    """Store the posted answer (the last message carries the buttons) with what produced it: the model that
    answered as the turn reports it ("" for a direct call without the model), the tools, tokens and latency.
    `on_turn`: record the message on the turn row in the same transaction (see `Store.record_answer`).
    Failures are logged: the answer is already on screen."""
    if not posted or not result.turn_id or result.status == "paused":
        return
    try:
        record = AnswerRecord(
            team_id=team_id or "",
            channel_id=channel,
            message_ts=posted[-1],
            thread_ts=thread_ts,
            turn_id=result.turn_id,
            user_id=user_id,
            model=result.model,
            status=result.status,
            tools=[{"tool": e.tool, "outcome": e.outcome, "ms": round(e.duration_ms, 1)} for e in result.trace],
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            latency_ms=round(result.duration_ms, 1),
        )
        await deps.store.record_answer(record, on_turn=on_turn)
    except Exception as exc:  # noqa: BLE001 - bookkeeping never costs the user their answer
        log_event(_log, "could not record the answer", logging.WARNING, turn_id=result.turn_id, error=repr(exc))


EPHEMERAL_TS = "eph:"
"""The stored `message_ts` of an ephemeral answer starts so: `eph:` and its turn id's first 28 hex digits (112 random
bits). Slack never tells the app an ephemeral message's ts when it posts one through a response_url; its click carries
the block id, which names the turn. The key fits the 32 characters every `message_ts` column holds (PostgreSQL
enforces them) and never looks like a Slack ts (digits, a dot, digits)."""
BLOCK_PREFIX = "feedback-"


def ephemeral_answer_ts(turn_id: str) -> str:
    """Where an ephemeral answer is recorded (see EPHEMERAL_TS)."""
    return f"{EPHEMERAL_TS}{turn_id[:28]}"


async def record_ephemeral_answer(deps: Deps, *, actor: Actor, result: TurnResult) -> None:
    """Record an answer shown to its asker only (the buttons under it find it by its turn; only the asker may rate
    it, as only they see it)."""
    if actor.channel_id is None:
        return
    await record_answer(
        deps, team_id=actor.team_id, user_id=actor.user_id, channel=actor.channel_id, thread_ts="", result=result,
        posted=[ephemeral_answer_ts(result.turn_id)],
    )


def comment_modal(answer_id: str) -> dict[str, Any]:
    """The optional "what went wrong" modal after a 👎."""
    return View(
        type="modal",
        callback_id=COMMENT_CALLBACK,
        private_metadata=answer_id,
        title=PlainTextObject(text="What went wrong?"),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Skip"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=slack_text.feedback_modal_intro())),
            InputBlock(
                block_id=COMMENT_BLOCK,
                label=PlainTextObject(text="What went wrong (optional)"),
                optional=True,
                element=PlainTextInputElement(action_id=COMMENT_INPUT, multiline=True, max_length=COMMENT_MAX_CHARS),
            ),
        ],
    ).to_dict()


async def on_feedback_click(deps: Deps, client: AsyncWebClient, body: dict[str, Any]) -> str:
    """Store one click; returns what happened (for the log and tests). Never raises."""
    click = BlockActions.of(body)
    if click is None:
        log_event(_log, "malformed feedback click ignored", logging.WARNING)
        return "ignored"
    action = click.action
    user, team, channel = click.user.id, click.team_id or "", click.channel_id or ""
    message_ts, rating = click.message_ts or "", action.value
    if rating not in RATINGS or not (user and channel and message_ts):
        log_event(_log, "malformed feedback click ignored", logging.WARNING, user=user, channel=channel)
        return "ignored"
    if click.is_ephemeral:
        # an ephemeral answer: found by the turn its block names, and only its asker ever saw it
        block_id = action.block_id or ""
        turn_id = block_id.removeprefix(BLOCK_PREFIX) if block_id.startswith(BLOCK_PREFIX) else ""
        message_ts = ephemeral_answer_ts(turn_id) if turn_id else ""
    answer = await deps.store.answer_at(team_id=team, channel_id=channel, message_ts=message_ts) if message_ts else None
    if answer is not None and answer.message_ts.startswith(EPHEMERAL_TS) and answer.user_id != user:
        answer = None
    if answer is None:
        log_event(_log, "feedback on an unknown answer ignored", logging.INFO, user=user, channel=channel, ts=message_ts)
        return "unknown"
    rated = await deps.store.rate_answer(answer_id=answer.id, user_id=user, rating=rating)
    log_event(_log, "feedback", answer=answer.id, user=user, rating=rating, created=rated.created, changed=rated.changed)
    if rating == "down" and rated.changed and click.trigger_id:
        try:
            await client.views_open(trigger_id=click.trigger_id, view=comment_modal(answer.id))
        except SLACK_FAILURES as exc:
            log_event(_log, "could not open the feedback modal", logging.WARNING, error=error_code(exc))
    elif rating == "up" and rated.changed:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, thread_ts=answer.thread_ts or None, text=slack_text.feedback_thanks())
        except SLACK_FAILURES as exc:
            log_event(_log, "could not thank for feedback", logging.INFO, error=error_code(exc))
    return "created" if rated.created else "changed" if rated.changed else "unchanged"


async def on_comment_submitted(deps: Deps, body: dict[str, Any]) -> bool:
    """Attach the note to the submitter's own 👎 on the answer the modal was opened for; False when there is none."""
    submitted = ViewPayload.of(body)
    if submitted is None:
        log_event(_log, "malformed feedback note ignored", logging.WARNING)
        return False
    user, answer_id = submitted.user.id, submitted.view.private_metadata
    text = submitted.view.element(COMMENT_BLOCK, COMMENT_INPUT).value or ""
    if not user or not answer_id or not text.strip():
        return False
    saved = await deps.store.comment_feedback(answer_id=answer_id, user_id=user, comment=text)
    if not saved:
        log_event(_log, "feedback note without a 👎 of the submitter ignored", logging.WARNING, user=user, answer=answer_id)
    return saved


def summary_blocks(summary: FeedbackSummary) -> list[dict[str, Any]]:
    """The admins' weekly summary on the App Home."""
    rated = summary.up + summary.down
    ratio = f"{summary.up} 👍 / {summary.down} 👎" + (f" ({100 * summary.up / rated:.0f}% positive)" if rated else "")
    lines = [
        f"*Answers this week:* {summary.answers}",
        f"*Feedback:* {ratio}" + (f" · {summary.commented} with a note" if summary.commented else ""),
    ]
    if summary.down_tools:
        lines.append("*Tools in 👎 answers:* " + ", ".join(f"{escape_mrkdwn(t)} ({n})" for t, n in summary.down_tools))
    if summary.slowest:
        lines.append(
            "*Slowest tools (median · max):* "
            + ", ".join(f"{escape_mrkdwn(t.tool)} {t.median_ms:,.0f} ms · {t.max_ms:,.0f} ms" for t in summary.slowest)
        )
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(lines))).to_dict()]


def register_feedback_handlers(app: AsyncApp, surface: Surface) -> None:
    """The feedback button and the "what went wrong" modal (acked at once; the work runs in the background)."""
    deps = surface.deps

    @app.action(FEEDBACK_ACTION)
    async def on_click(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        surface.tasks.spawn(_guarded(on_feedback_click(deps, surface.client, body)), name="feedback:click")

    @app.view(COMMENT_CALLBACK)
    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        surface.tasks.spawn(_guarded(on_comment_submitted(deps, body)), name="feedback:note")


async def _guarded(work: Awaitable[object]) -> None:
    try:
        await work
    except Exception as exc:  # noqa: BLE001 - a click never fails loudly
        log_event(_log, "feedback handling failed", logging.ERROR, error=repr(exc))
