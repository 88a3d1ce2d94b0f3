"""Durable turns in Slack: the heartbeat of this process's turns, and showing the turns recovery took over.

`TurnKeeper` runs in every `chatops run` process. Each tick (a third of CHATOPS_TURN_LEASE_SECONDS; the first at
start-up) renews our leases with one UPDATE and sweeps for orphans (bot/agent/recovery.py). For each orphan it
took over, the thread gets exactly one explicit message ("I was restarted while working on this; …"):
- a progress message the dead process left (a stream never stopped, a fallback progress message) is updated to
  say it, so nothing stale stays; otherwise the message is posted;
- the message carries the marker `recovery:<turn id>`, and the thread is looked at first, so a keeper that dies
  after posting and is replaced never posts it twice;
- the thread status is cleared, 👀 on the question is replaced by ⚠️ (a re-run shows 👀 again itself), and
  Approve/Cancel buttons of the turn show their final state;
- a question that only read is then answered again as a new turn (same thread, same asker).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.agent.loop import ThreadRef
from bot.agent.recovery import Recovered, Recovery
from bot.logs import get_logger, log_event
from bot.slack import approvals_ui
from bot.slack.conversation import Where, answer
from bot.slack.posting import delete_quietly, key_of, marker, post_once, thread_messages
from bot.storage.wait import is_unavailable
from integrations.llm.base import ToolChoice
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from bot.slack.surface import Surface

_log = get_logger("slack.recovery")

ENDED_REACTION = "warning"


class TurnKeeper:
    """Heartbeat + orphan sweep for one process, showing recovered turns in their Slack threads."""

    def __init__(self, surface: Surface) -> None:
        self.surface = surface
        self.recovery = Recovery(surface.deps)
        self._task: asyncio.Task[None] | None = None
        self._db_down = False

    def start(self) -> None:
        """Run the first sweep now and then tick in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="turn-keeper")

    async def stop(self) -> None:
        """Stop ticking (the last tick finishes what it showed)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def hand_over(self) -> None:
        """Shutting down: give up our leases, then end what nobody else took (no re-runs: we are leaving)."""
        deps = self.surface.deps
        try:
            released = await deps.store.release_turns(deps.leases.owner)
            if released:
                log_event(_log, "turns handed over", count=released)
                await self.tick(rerun=False, heartbeat=False)
        except Exception as exc:  # noqa: BLE001 - shutting down: another process will find them
            log_event(_log, "handing over failed", logging.WARNING, error=repr(exc))

    async def _run(self) -> None:
        interval = self.surface.deps.leases.heartbeat_every
        while True:
            await self.tick()
            await asyncio.sleep(interval)

    async def tick(self, *, rerun: bool = True, heartbeat: bool = True) -> list[Recovered]:
        """One heartbeat and one sweep; returns the orphans shown. Database failures are logged once per outage."""
        deps = self.surface.deps
        leases = deps.leases
        try:
            if heartbeat:
                await deps.store.heartbeat(leases.owner, leases.lease)
            found = await self.recovery.sweep(rerun=rerun)
        except Exception as exc:  # noqa: BLE001 - the keeper must outlive outages
            if not self._db_down:
                log_event(_log, "turn keeper paused: database unavailable" if is_unavailable(exc) else "turn keeper tick failed", logging.WARNING, error=repr(exc)[:300])
            self._db_down = True
            return []
        if self._db_down:
            log_event(_log, "turn keeper resumed")
            self._db_down = False
        for recovered in found:
            await self.show(recovered)
        return found

    # ------------------------------------------------------------ showing one recovered turn
    async def show(self, rec: Recovered) -> bool:
        """Tell the thread (once), clear status and 👀, update buttons, close the turn, maybe re-run it."""
        origin = rec.origin if rec.origin is not None and rec.origin.surface == "slack" else None
        if origin is None and not rec.approvals:
            await self.recovery.close(rec)  # not shown in a Slack thread (the shell, an ephemeral answer)
            return True
        client = self.surface.client
        try:
            await self._say(rec)
        except SLACK_FAILURES as exc:
            log_event(_log, "could not tell the thread; retried later", logging.WARNING, turn_id=rec.turn_id, error=error_code(exc))
            await self.recovery.release(rec)
            return False
        await self._quietly(client.assistant_threads_setStatus(channel_id=rec.channel_id, thread_ts=rec.thread_ts, status=""))
        if origin is not None and origin.message_ts and not rec.rerun:
            await self._quietly(client.reactions_remove(channel=rec.channel_id, timestamp=origin.message_ts, name="eyes"))
            await self._quietly(client.reactions_add(channel=rec.channel_id, timestamp=origin.message_ts, name=ENDED_REACTION))
        for approval_id in rec.approvals:
            await approvals_ui.refresh_approval_message(client, self.surface.deps, approval_id)
        await self.recovery.close(rec)
        log_event(_log, "interrupted turn explained", turn_id=rec.turn_id, channel=rec.channel_id, rerun=rec.rerun)
        if rec.rerun:
            self._rerun(rec)
        return True

    async def _say(self, rec: Recovered) -> None:
        """The explicit message, once: found already (marker), written over a stale progress message, or posted."""
        client, key = self.surface.client, f"recovery:{rec.turn_id}"
        after = float((rec.origin.message_ts if rec.origin else None) or rec.thread_ts)
        stale: list[str] = []
        async for message in thread_messages(client, rec.channel_id, rec.thread_ts):
            found = key_of(message)
            if found == key:
                return  # shown before (by a keeper that died right after)
            if message.get("bot_id") and (found is None or found.startswith("progress:")) and _ts(message) > after:
                stale.append(str(message["ts"]))
        if stale:
            try:
                await client.chat_update(channel=rec.channel_id, ts=stale[-1], text=rec.text, blocks=[], metadata=marker(key))
            except SLACK_FAILURES as exc:
                log_event(_log, "could not update the stale progress message", logging.WARNING, error=error_code(exc))
            else:
                for ts in stale[:-1]:
                    await delete_quietly(client, rec.channel_id, ts)
                return
        await post_once(client, channel=rec.channel_id, thread_ts=rec.thread_ts, key=key, text=rec.text)
        for ts in stale:
            await delete_quietly(client, rec.channel_id, ts)

    def _rerun(self, rec: Recovered) -> None:
        actor, origin, request = rec.actor, rec.origin, rec.request
        assert actor is not None and origin is not None
        agent = self.surface.agent
        thread = ThreadRef(team_id=rec.team_id, channel_id=rec.channel_id, thread_ts=rec.thread_ts)
        where = Where(channel=rec.channel_id, thread_ts=rec.thread_ts, message_ts=origin.message_ts)

        async def run(who: Any, progress: Any) -> Any:
            if request.get("kind") == "tool":
                return await agent.run_tool(
                    actor=who, thread=thread, tool_name=str(request["tool"]), arguments=dict(request.get("arguments") or {}), on_progress=progress
                )
            choice = request.get("tool_choice")
            return await agent.run_turn(
                actor=who,
                thread=thread,
                text=str(request.get("text") or ""),
                context=request.get("context"),
                tool_choice=ToolChoice.model_validate(choice) if isinstance(choice, dict) else None,
                on_progress=progress,
            )

        self.surface.tasks.spawn(answer(self.surface, who=actor, where=where, run=run), name=f"rerun:{rec.turn_id}")

    @staticmethod
    async def _quietly(call: Any) -> None:
        try:
            await call
        except SLACK_FAILURES as exc:
            log_event(_log, "cleanup call failed", logging.INFO, error=error_code(exc))


def _ts(message: dict[str, Any]) -> float:
    try:
        return float(str(message.get("ts")))
    except ValueError:
        return 0.0
