"""Turn bookkeeping: the settings a turn runs under, starting and storing it, its result, and the per-thread locks.

A turn starts with a leased `turns` row (bot/storage/leases.py) and the thread's history; it ends with one
`end_turn` write (its new messages, tool_calls rows, usage, status) and one log line. Turns in the same thread
run one at a time: one lock per thread, held while a turn (or the continuation of an approval) runs.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from bot.agent.leasing import pending_claim
from bot.agent.state import ThreadRef, TurnState
from bot.agent.types import TurnResult
from bot.logs import get_logger, log_event
from bot.storage.conversations import TurnEnd
from bot.storage.events import DeliveryTaken
from bot.tools.base import Actor

if TYPE_CHECKING:
    from bot.services import Services
    from bot.settings import Settings

logger = get_logger("agent")


class Turns:
    """Starts, stores and serializes the turns of one Agent."""

    def __init__(self, deps: Services) -> None:
        self.deps = deps
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def settings(self) -> Settings:
        """The settings of this request: the start-up settings with the admins' current overrides applied."""
        try:
            return await self.deps.live.settings()
        except Exception:  # authorization fails closed on its own; the limits fall back to the start-up values
            logger.exception("could not read the live settings; using the start-up settings")
            return self.deps.settings

    async def begin(self, actor: Actor, thread: ThreadRef, settings: Settings, request: dict[str, Any]) -> TurnState | None:
        """Start a turn leased by this process (its `request` saved for recovery); None when the database fails."""
        turn_id = uuid.uuid4().hex
        leases = self.deps.leases
        lease = self.deps.store.lease_values(leases.owner, leases.lease) | {"request": request}
        claim = pending_claim.get()
        if claim is not None and claim.won is not None:
            claim = None  # claimed by an earlier turn of this delivery
        try:
            start = await self.deps.store.begin_turn(
                team_id=thread.team_id, channel_id=thread.channel_id, thread_ts=thread.thread_ts, user_id=actor.user_id, turn_id=turn_id,
                lease=lease, claim=claim.keys if claim is not None else (),
            )
        except DeliveryTaken:
            if claim is not None:
                claim.won = False  # another delivery of this message runs (or ran) its turn; the surface shows nothing
            log_event(logger, "duplicate delivery ignored", user=actor.user_id, channel=thread.channel_id)
            return None
        except Exception:
            logger.exception("could not start a turn", extra={"fields": {"user": actor.user_id}})
            return None
        if claim is not None:
            claim.won = True
        return TurnState(
            turn_id=turn_id,
            conversation_id=start.conversation_id,
            actor=actor,
            thread=thread,
            history=start.messages,
            max_tokens=settings.chatops_max_tokens,
        )

    async def finish(self, state: TurnState, result: TurnResult) -> None:
        """Store what the turn added since it was last stored; log one line for it."""
        result.duration_ms = round(state.elapsed_ms(), 1)
        self.deps.metrics.turn(result.status, result.duration_ms / 1000)
        end = TurnEnd(
            turn_id=state.turn_id,
            conversation_id=state.conversation_id,
            status=result.status,
            steps=state.steps,
            usage=state.usage,
            messages=[] if state.direct else state.new[state.stored_new :],
            tool_calls=state.rows,
            stop_reason=state.stop_reason,
            error=state.error,
            final=result.status != "paused",
        )
        try:
            await self.deps.store.end_turn(end)
            state.stored_new, state.rows = len(state.new), []
        except Exception:
            logger.exception("could not store the turn", extra={"fields": {"turn_id": state.turn_id}})
        u = state.usage
        log_event(
            logger,
            "turn",
            conversation_id=state.conversation_id,
            turn_id=state.turn_id,
            user=state.actor.user_id,
            status=result.status,
            steps=state.steps,
            tool_calls=len(result.trace),
            ms=result.duration_ms,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_read_tokens=u.cache_read_tokens,
            cache_write_tokens=u.cache_write_tokens,
        )

    def lock(self, thread: ThreadRef) -> asyncio.Lock:
        """The thread's lock (kept while anyone holds or waits for it)."""
        key = f"{thread.team_id}:{thread.channel_id}:{thread.thread_ts}"
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        elif lock.locked():
            log_event(logger, "thread busy: waiting for its current turn", thread=key)
        return lock


def turn_result(state: TurnState, status: Any, text: str) -> TurnResult:
    """The turn's result so far: `text` with its trace, usage and ids."""
    return TurnResult(
        status=status,
        text=text,
        trace=list(state.trace),
        usage=state.usage,
        steps=state.steps,
        turn_id=state.turn_id,
        conversation_id=state.conversation_id,
        model=state.model,
    )
