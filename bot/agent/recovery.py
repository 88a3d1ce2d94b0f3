"""Ending the turns of a process that died: take each orphan over once, settle its writes, decide what to say.

A turn is an orphan when its owner is gone or its lease expired (bot/storage/leases.py). Whoever claims it:
1. settles every write the turn sent: a ledger row left `started` (the answer was lost with the process) is
   checked against the ticket (bot/agent/reconcile.py) and recorded `done`, `not_applied` or `unknown`; an
   approval left `approved` gets the same outcome (`done`, `failed`, `unknown`). Nothing is ever sent again.
2. decides: a turn that sent no write, started less than CHATOPS_RECOVERY_WINDOW_SECONDS ago and was asked through
   a surface that can answer again, is re-run (a new turn with the same question: it only read so far, and
   reads are safe to repeat); any other is ended, with what is known about its writes.
3. hands the surface a `Recovered` (the explicit message, where to show it); the surface shows it, then
   `close()` ends the turn row (`interrupted`). A surface that could not show it calls `release()`: the turn is
   taken over again on the next sweep, and the message's marker keeps it from appearing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.agent.leasing import TurnOrigin, origin_of
from bot.agent.reconcile import reconcile_write
from bot.logs import get_logger, log_event
from bot.messages import agent as agent_text
from bot.messages import approvals as approval_text
from bot.storage.leases import OrphanTurn, as_utc
from bot.tools.base import Actor, Effect

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.tables import AuditRow, PendingApprovalRow

_log = get_logger("agent.recovery")

LEDGER_STATUS = {"done": "done", "not_done": "not_applied", "unknown": "unknown"}
APPROVAL_STATUS = {"done": "done", "not_done": "failed", "unknown": "unknown"}
FACT_OF_LEDGER = {"done": "done", "not_applied": "not_done", "error": "not_done", "timeout": "unknown", "unknown": "unknown"}


@dataclass
class Recovered:
    """One orphan this process took over: what to tell the thread, and whether to answer the question again."""

    turn_id: str
    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str
    text: str
    rerun: bool
    request: dict[str, Any]
    origin: TurnOrigin | None
    actor: Actor | None
    approvals: list[str] = field(default_factory=list)
    """Approval ids of the turn whose buttons should show their final state."""


class Recovery:
    """Takes over orphaned turns (any process, any number of times: each orphan is claimed once)."""

    def __init__(self, deps: Services) -> None:
        self.deps = deps

    async def sweep(self, *, limit: int = 20, rerun: bool = True) -> list[Recovered]:
        """Claim and settle the orphans found now; the caller shows each and then closes or releases it.
        `rerun=False` ends every one (a process shutting down takes over no new work)."""
        store, leases = self.deps.store, self.deps.leases
        out: list[Recovered] = []
        for orphan in await store.find_orphans(leases.owner, limit=limit):
            if not await store.claim_orphan(orphan, leases.owner, leases.lease):
                continue  # another process took it
            log_event(_log, "orphaned turn taken over", turn_id=orphan.turn_id, owner=orphan.owner or "-", channel=orphan.channel_id)
            try:
                out.append(await self._settle(orphan, rerun=rerun))
            except Exception:  # noqa: BLE001 - one bad orphan must not stop the others; it is retried later
                _log.exception("could not settle an orphaned turn", extra={"fields": {"turn_id": orphan.turn_id}})
                await store.release_turns_by_id([orphan.turn_id])
        return out

    async def close(self, recovered: Recovered) -> None:
        """The surface showed the message: end the turn row."""
        error = "owner gone; re-run as a new turn" if recovered.rerun else "owner gone; ended by recovery"
        await self.deps.store.close_turn(recovered.turn_id, status="interrupted", error=error)

    async def release(self, recovered: Recovered) -> None:
        """The surface could not show the message: let the next sweep (of any process) try again."""
        await self.deps.store.release_turns_by_id([recovered.turn_id])

    # ------------------------------------------------------------ settling one orphan
    async def _settle(self, orphan: OrphanTurn, *, rerun: bool) -> Recovered:
        store = self.deps.store
        approvals = {a.id: a for a in await store.approvals_of_turn(orphan.turn_id)}
        facts: list[str] = []
        writes = await store.turn_writes(orphan.turn_id)
        for write in writes:
            facts.append(await self._settle_write(write, approvals))
        request = orphan.request
        actor = _actor(request)
        rerun = rerun and not writes and self._can_rerun(orphan, actor)
        text = agent_text.restarted_rerunning() if rerun else agent_text.restarted_ended(facts)
        log_event(_log, "orphaned turn settled", turn_id=orphan.turn_id, writes=len(writes), rerun=rerun)
        return Recovered(
            turn_id=orphan.turn_id,
            team_id=orphan.team_id,
            channel_id=orphan.channel_id,
            thread_ts=orphan.thread_ts,
            user_id=orphan.user_id,
            text=text,
            rerun=rerun,
            request=request,
            origin=origin_of(request),
            actor=actor,
            approvals=[a.id for a in approvals.values() if a.message_ts],
        )

    async def _settle_write(self, write: AuditRow, approvals: dict[str, PendingApprovalRow]) -> str:
        key = write.idempotency_key or ""
        approval = approvals.get(key.removeprefix("approval:")) if key.startswith("approval:") else None
        details = write.details or {}
        arguments = dict(approval.arguments or {}) if approval is not None else dict(details.get("arguments") or {})
        tool = write.tool or ""
        description = approval_text.action_description(tool, arguments)
        if write.status == "started":
            since = as_utc(write.at) or self.deps.clock()
            found = await reconcile_write(self.deps.tickets, tool, arguments, since=since)
            outcome = found.outcome
            await self.deps.store.finish_write(
                key, status=LEDGER_STATUS[outcome], details={"reconciled": outcome, "reconciled_by": "recovery"}, target=found.key
            )
            if approval is not None:
                await self.deps.store.settle_approval(approval.id, APPROVAL_STATUS[outcome])
            log_event(_log, "write outcome reconciled", logging.WARNING, key=key, tool=tool, outcome=outcome, target=found.key or "-")
            return agent_text.write_outcome_fact(description, outcome, _link(found.key, found.url))
        known = FACT_OF_LEDGER.get(write.status, "unknown")
        if approval is not None and approval.status == "approved":
            await self.deps.store.settle_approval(approval.id, APPROVAL_STATUS[known])
        target = str(details.get("created_key") or write.target or "") or None
        return agent_text.write_outcome_fact(description, known, target)

    def _can_rerun(self, orphan: OrphanTurn, actor: Actor | None) -> bool:
        """Re-run only a question that read nothing but reads, recently, from a surface that can answer again."""
        request = orphan.request
        window = timedelta(seconds=self.deps.settings.chatops_recovery_window_seconds)
        if actor is None or origin_of(request) is None or request.get("context_too_long"):
            return False
        if _age(self.deps.clock(), orphan.started_at) > window:
            return False
        if request.get("kind") == "turn":
            return bool(str(request.get("text") or "").strip())
        if request.get("kind") == "tool":
            tool = next((t for t in self.deps.tools if t.name == request.get("tool")), None)
            return tool is not None and tool.effect is Effect.READ
        return False


def _age(now: datetime, started: datetime) -> timedelta:
    return (as_utc(now) or now) - started


def _actor(request: dict[str, Any]) -> Actor | None:
    raw = request.get("actor")
    if not isinstance(raw, dict):
        return None
    try:
        return Actor(**raw)
    except TypeError:
        return None


def _link(key: str | None, url: str | None) -> str | None:
    if key and url:
        return f"<{url}|{key}>"
    return key or None
