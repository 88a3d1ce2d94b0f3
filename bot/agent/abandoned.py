"""Approvals whose paused turn cannot be continued: the saved turn state is missing or unreadable (lost, or written
by an incompatible version).

Such an approval is never left `pending` (the expiry sweep would find it forever): once decided it is closed —
`failed` when approved, `cancelled` / `expired` as decided — the turn is ended `failed`, the audit log says why,
and the user is told that nothing was done.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.agent.state import TurnState
from bot.agent.types import TurnResult
from bot.logs import get_logger, log_event
from bot.messages import approvals as approval_text
from bot.storage.audit import AuditAction

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.tables import PendingApprovalRow

logger = get_logger("agent")

LOST_STATE = "the paused turn's saved state is missing or unreadable"


def paused_state(row: PendingApprovalRow) -> TurnState | None:
    """The paused turn saved in an approval row; None when it is missing or cannot be read."""
    if not row.state:
        log_event(logger, "approval without a saved turn", logging.ERROR, approval_id=row.id)
        return None
    try:
        return TurnState.from_json(row.state)
    except (AttributeError, KeyError, TypeError, ValueError):
        logger.exception("unreadable approval state", extra={"fields": {"approval_id": row.id}})
        return None


async def abandon(deps: Services, row: PendingApprovalRow, status: str, *, decided_by: str) -> TurnResult:
    """Close an approval just decided (`status`: approved, cancelled or expired) whose turn cannot go on."""
    store = deps.store
    if status == "approved" and await store.finish_approval(row.id, ok=False):
        status = "failed"
    action: AuditAction = "expired" if status == "expired" else "cancelled" if status == "cancelled" else "approval"
    try:
        await store.record_audit(
            user_id=row.requester_id,
            action=action,
            tool=row.tool,
            target=_target(row),
            status="not_sent",
            details={"decided_by": decided_by, "approval_id": row.id, "approval_status": status, "error": LOST_STATE},
            conversation_id=row.conversation_id,
            tool_use_id=row.tool_use_id,
        )
        await store.close_turn(row.turn_id, status="failed", error=f"approval {row.id}: {LOST_STATE}")
    except Exception:  # the approval is closed already; the bookkeeping must not turn this into a crash
        logger.exception("could not record an abandoned approval", extra={"fields": {"approval_id": row.id}})
    log_event(logger, "approval abandoned", logging.WARNING, approval_id=row.id, status=status, turn_id=row.turn_id)
    # With the turn's id the Slack side treats it as decided here: it updates the buttons and posts the text.
    return TurnResult(
        status="failed", text=approval_text.approval_state_lost(status), turn_id=row.turn_id, conversation_id=row.conversation_id
    )


def _target(row: PendingApprovalRow) -> str | None:
    arguments = row.arguments or {}
    value = arguments.get("key") or arguments.get("project")
    return str(value) if value else None
