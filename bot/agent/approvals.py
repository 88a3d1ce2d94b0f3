"""Approvals in the loop: pausing a turn at a write that needs confirmation, and taking the decision on it.

`pause` stores the paused turn with its approval request (the call, who asked, where, until when) and returns the
`paused` result the surface shows with Approve/Cancel. `claim_decision` claims a decision once across processes
(a click that comes too late closes the request as expired), and `apply_decision` runs the approved call once (it
is authorized again first) or tells the model it was declined, expired or is no longer permitted. The loop then
continues the same turn (`Agent.resume`, `Agent.expire`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.agent.abandoned import abandon, paused_state
from bot.agent.executor import Executor
from bot.agent.results import redact
from bot.agent.state import Paused, TurnState
from bot.agent.turns import turn_result
from bot.agent.types import DeclineReason, PendingAction, TurnResult
from bot.messages import approvals as approval_text

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.tables import PendingApprovalRow


async def pause(deps: Services, state: TurnState, executor: Executor, paused: Paused) -> TurnResult:
    """Store the approval request for `paused.call` with the turn's state; the result says what waits."""
    state.paused = paused
    arguments = paused.call.input
    snapshot = state.to_json()
    snapshot["stored_new"] = len(state.new)  # the turn is stored right after
    row = await deps.store.create_approval(
        conversation_id=state.conversation_id,
        turn_id=state.turn_id,
        tool=paused.call.name,
        tool_use_id=paused.call.id,
        arguments=arguments,
        requester_id=state.actor.user_id,
        channel_id=state.thread.channel_id,
        thread_ts=state.thread.thread_ts,
        team_id=state.thread.team_id,
        ttl=timedelta(minutes=executor.settings.chatops_approval_timeout_minutes),
        state=snapshot,
    )
    description = approval_text.action_description(paused.call.name, redact(arguments))
    result = turn_result(state, "paused", approval_text.approval_needed(description))
    result.pending = PendingAction(
        approval_id=row.id,
        tool=paused.call.name,
        arguments=redact(arguments),
        description=description,
        requester_id=state.actor.user_id,
        expires_at_iso=row.expires_at.isoformat(),
    )
    return result


@dataclass(frozen=True)
class Decided:
    """A decision this process claimed, and the paused turn it continues."""

    row: PendingApprovalRow
    """The request as it was before the decision."""
    status: str
    """approved, cancelled or expired."""
    state: TurnState
    paused: Paused


async def claim_decision(deps: Services, row: PendingApprovalRow, *, approved: bool, decided_by: str, expire: bool) -> Decided | TurnResult:
    """Claim the decision on `row` (once, across processes) and take over its turn; the result to give instead
    when another decision came first, or the paused turn cannot be continued (its approval is closed)."""
    store = deps.store
    claimed = await (store.expire_approval(row.id) if expire else store.claim_approval(row.id, approved=approved, decided_by=decided_by))
    if claimed is None and approved and not expire:
        claimed = await store.expire_approval(row.id)  # too late to run: close it as expired
    if claimed is None:
        current = await store.get_approval(row.id)
        return TurnResult(status="failed", text=approval_text.approval_already_decided(current.status if current else "decided"))
    leases = deps.leases
    await store.lease_turn(row.turn_id, leases.owner, leases.lease)  # running again, held by this process
    deps.metrics.approval(row.tool, claimed.status)
    state = paused_state(row)
    if state is None or state.paused is None:
        return await abandon(deps, row, claimed.status, decided_by=decided_by)
    paused = state.paused
    state.paused = None
    state.rows = []
    return Decided(row=row, status=claimed.status, state=state, paused=paused)


async def apply_decision(deps: Services, executor: Executor, decided: Decided, *, decided_by: str, reason: DeclineReason) -> None:
    """Run the approved call once (re-authorized as the requester), or tell the model why it was not run."""
    row, call = decided.row, decided.paused.call
    if decided.status == "approved":
        ok = await executor.run_approved(call, approval_id=row.id, decided_by=decided_by)
        await deps.store.finish_approval(row.id, ok=ok)
    else:
        waited = round((row.expires_at - row.created_at).total_seconds() / 60)  # the request's own timeout
        why: DeclineReason = "expired" if decided.status == "expired" else reason
        await executor.decline(call, reason=why, decided_by=decided_by, waited_minutes=waited)
