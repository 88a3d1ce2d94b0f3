"""Approve / Cancel for writes that need confirmation: the click handlers and the expiry sweep (the message
itself is built in bot/slack/approval_blocks.py).

On a click: only the requester or a chatops admin may decide (anyone else gets an ephemeral refusal and nothing
changes); an expired request is declined, never run; Approve re-checks the policy as it is now (it may have
changed since the request) and then `agent.resume(...)` runs the call: the claim inside is one
`UPDATE ... WHERE status = 'pending'`, so a double click or two processes run it once. The buttons are replaced
by the outcome and the continued answer is posted in the thread.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot.agent.checks import decide_call
from bot.errors import ChatopsError
from bot.logs import get_logger, log_event
from bot.messages import approvals as approval_text
from bot.policy.roles import is_admin
from bot.slack.approval_blocks import (
    ACTION_PATTERN,
    UI_VERSION,
    Choice,
    decided_blocks,
    expiry,
    parse_action_id,
)
from bot.slack.feedback import record_answer
from bot.slack.payloads import BlockActions
from bot.slack.replies import deliver_turn
from bot.slack_api.channel_kinds import channel_type_from_info
from bot.tools.base import Actor
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.agent.loop import Agent
    from bot.agent.types import DeclineReason, TurnResult
    from bot.deps import Deps
    from bot.slack.tasks import Background
    from bot.storage.tables import PendingApprovalRow

logger = get_logger("slack.approvals")


# ---------------------------------------------------------------- deciding


async def remember_approval_message(deps: Deps, result: TurnResult, posted: list[str]) -> None:
    """After `deliver_turn` posted a paused turn, record which message carries the buttons (the last one)."""
    if result.status == "paused" and result.pending is not None and posted:
        await deps.store.set_approval_message(result.pending.approval_id, posted[-1])


async def _ephemeral(client: AsyncWebClient, *, channel: str | None, user: str, text: str) -> None:
    if not channel:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SLACK_FAILURES as exc:
        log_event(logger, "ephemeral reply failed", logging.WARNING, channel=channel, error=error_code(exc))


async def _show_outcome(client: AsyncWebClient | None, deps: Deps, approval_id: str, *, ts: str | None) -> None:
    """Replace the buttons with the recorded outcome (idempotent; failures only logged)."""
    row = await deps.store.get_approval(approval_id)
    ts = ts or (row.message_ts if row is not None else None)
    if client is None or row is None or not ts:
        return
    text = approval_text.approval_outcome(row.status, row.decided_by, expiry(row.decided_at or row.expires_at)[1])
    try:
        await client.chat_update(channel=row.channel_id, ts=ts, text=text, blocks=decided_blocks(row))
    except SLACK_FAILURES as exc:
        log_event(logger, "could not update approval message", logging.WARNING, approval=approval_id, error=error_code(exc))


async def refresh_approval_message(client: AsyncWebClient | None, deps: Deps, approval_id: str) -> None:
    """Show an approval's recorded state on its message (e.g. after recovery settled an interrupted write)."""
    await _show_outcome(client, deps, approval_id, ts=None)


async def _deliver(client: AsyncWebClient | None, deps: Deps, row: PendingApprovalRow, result: TurnResult) -> None:
    if client is None:
        return
    try:
        requester = _requester(row)
        posted = await deliver_turn(
            client, deps, channel=row.channel_id, thread_ts=row.thread_ts, result=result,
            channel_type=requester.channel_type, actor=requester,
        )
    except ChatopsError as exc:
        log_event(logger, "could not post the resumed answer", logging.ERROR, approval=row.id, error=str(exc))
        return
    await remember_approval_message(deps, result, posted)
    if posted and result.turn_id:
        await deps.store.set_answer_ts(result.turn_id, posted[-1])
    await record_answer(
        deps, team_id=row.team_id or None, user_id=row.requester_id, channel=row.channel_id, thread_ts=row.thread_ts,
        result=result, posted=posted,
    )


def _requester(row: PendingApprovalRow) -> Actor:
    """The actor the paused turn ran as (from the stored turn state), else the requester in that channel."""
    stored = (row.state or {}).get("actor")
    if isinstance(stored, dict):
        try:
            return Actor(**stored)
        except TypeError:
            pass
    return Actor(user_id=row.requester_id, team_id=row.team_id or None, channel_id=row.channel_id)


async def _requester_here(deps: Deps, row: PendingApprovalRow) -> Actor:
    """The requester, with the channel's kind asked of Slack by id when the stored turn no longer says it (an
    unknown kind would be scoped as the most public one)."""
    actor = _requester(row)
    if actor.channel_type != "unknown" or not actor.channel_id or deps.slack is None:
        return actor
    try:
        response = await deps.slack.conversations_info(channel=actor.channel_id)
    except SLACK_FAILURES as exc:
        log_event(logger, "conversations.info failed", logging.WARNING, channel=actor.channel_id, error=error_code(exc))
        return actor
    return replace(actor, channel_type=channel_type_from_info(response.get("channel")))


async def still_permitted(deps: Deps, row: PendingApprovalRow) -> bool:
    """Re-check the call under the policy as it is now, as the requester (not the clicker)."""
    tool = next((t for t in deps.tools if t.name == row.tool), None)
    if tool is None:
        return False
    try:
        decision = await decide_call(
            deps, await _requester_here(deps, row), tool, row.arguments or {}, conversation_id=row.conversation_id, thread_ts=row.thread_ts
        )
    except (ValidationError, ChatopsError):
        return False
    return decision.outcome in ("allow", "confirm")


def _lost_race(result: TurnResult) -> bool:
    """True when resume ran nothing: another click or process decided first (or the request is gone).

    The agent answers those without starting a turn, so the result has no turn id.
    """
    return result.status == "failed" and not result.turn_id


async def decide_approval(
    deps: Deps,
    agent: Agent,
    client: AsyncWebClient | None,
    *,
    approval_id: str,
    choice: Choice,
    clicker: str,
    channel: str | None,
    message_ts: str | None,
) -> str:
    """Handle one Approve/Cancel click; returns what happened (for logs and tests)."""
    row = await deps.store.get_approval(approval_id)
    if row is None:
        await _ephemeral_if(client, channel=channel, user=clicker, text=approval_text.approval_unknown())
        return "unknown"
    if clicker != row.requester_id and not await is_admin(deps, clicker):
        log_event(logger, "approval click refused", logging.WARNING, approval=approval_id, user=clicker)
        await _ephemeral_if(client, channel=channel, user=clicker, text=approval_text.approval_not_yours(row.requester_id))
        return "refused"
    if row.status != "pending":
        await _ephemeral_if(client, channel=channel, user=clicker, text=approval_text.approval_already_decided(row.status))
        await _show_outcome(client, deps, approval_id, ts=message_ts)
        return "already-decided"
    expired = row.expires_at <= deps.clock()
    if expired:
        await _ephemeral_if(client, channel=channel, user=clicker, text=approval_text.approval_expired(expiry(row.expires_at)[1]))
    approve = choice == "approve" and not expired
    reason: DeclineReason = "cancelled"
    if approve and not await still_permitted(deps, row):
        await _ephemeral_if(client, channel=channel, user=clicker, text=approval_text.approval_no_longer_permitted())
        approve, reason = False, "not_permitted"
    if expired:
        result = await agent.expire(approval_id=approval_id)
    else:
        result = await agent.resume(
            approval_id=approval_id, approved=approve, decided_by=clicker, decline_reason=reason
        )
    if _lost_race(result):
        await _ephemeral_if(client, channel=channel, user=clicker, text=result.text)
        return "already-decided"
    await _show_outcome(client, deps, approval_id, ts=message_ts)
    await _deliver(client, deps, row, result)
    return "approved" if approve else ("expired" if expired else "cancelled")


async def _ephemeral_if(client: AsyncWebClient | None, *, channel: str | None, user: str, text: str) -> None:
    if client is not None:
        await _ephemeral(client, channel=channel, user=user, text=text)


async def expire_approvals(deps: Deps, now: datetime, *, agent: Agent | None = None) -> int:
    """Decline every approval past its expiry (the model hears it was declined); returns how many.

    For the scheduler: a plain async function of (deps, now). Uses `deps.slack` to update the buttons and post
    the continued answer when running in Slack.
    """
    if agent is None:
        agent = deps.agent  # never a second Agent: its locks would not keep out a user's turn
    expired = 0
    for row in await deps.store.list_expired_approvals(now=now):
        try:
            result = await agent.expire(approval_id=row.id)
        except Exception:  # noqa: BLE001 - one broken turn must not stop the sweep or repeat forever
            logger.exception("expiring an approval failed", extra={"fields": {"approval": row.id}})
            await deps.store.expire_approval(row.id, now=now)
            continue
        if _lost_race(result):
            continue
        expired += 1
        await _show_outcome(deps.slack, deps, row.id, ts=row.message_ts)
        await _deliver(deps.slack, deps, row, result)
    return expired


# ---------------------------------------------------------------- Bolt wiring


def register_approval_handlers(app: AsyncApp, deps: Deps, agent: Agent, tasks: Background) -> None:
    """Register the Approve / Cancel action handlers. A click's work (the approved call, the rest of the turn) runs
    as one of the surface's `tasks`, awaited by the listener: a shutdown drains it like any conversation in flight
    instead of handing its turn over while the approved write is still being sent."""

    @app.action(ACTION_PATTERN)
    async def on_approval_click(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        payload = BlockActions.of(body)
        if payload is None:  # the app's middleware already ignores these; never guess at a click
            log_event(logger, "malformed approval click ignored", logging.WARNING)
            return
        clicker, channel = payload.user.id, payload.channel_id
        parsed = parse_action_id(payload.action.action_id)
        if parsed is None or parsed.version != UI_VERSION:
            await _ephemeral(client, channel=channel, user=clicker, text=approval_text.approval_stale_button())
            return
        deciding = decide_approval(
            deps,
            agent,
            client,
            approval_id=parsed.approval_id,
            choice=parsed.choice,
            clicker=clicker,
            channel=channel,
            message_ts=payload.message_ts,
        )
        outcome = await tasks.spawn(deciding, name=f"approval:{parsed.approval_id}")
        log_event(logger, "approval click", approval=parsed.approval_id, user=clicker, outcome=outcome)
