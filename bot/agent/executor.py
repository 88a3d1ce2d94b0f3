"""Runs one response's tool calls: check (bot/agent/checks.py) → authorize → run → log (bot/agent/call_log.py).

Consecutive reads run concurrently (bounded by `chatops_max_parallel_calls`); each write is a barrier run alone,
in the model's order. Every call gets exactly one result in `state.results`: invalid, unknown, capped, denied,
repeated, failed and timed-out calls get an `is_error` text that says what was wrong. A write that needs
confirmation stops the response there (`Paused`); the loop stores it and `resume()` continues. An approved call is
authorized again just before it runs (`run_approved`): the policy may have changed while it waited.

Only the model sees a result wrapped in `<tool_output>` delimiters; the trace, the progress events, the tool_calls
rows and the audit log get the plain result.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot.agent import results as r
from bot.agent.call_log import CallLog, target
from bot.agent.checks import CONFIRM_DEFERRED, CheckedCall, authorize_call, check_call
from bot.agent.state import Paused, TurnState
from bot.agent.types import CallOutcome, DeclineReason, ProgressCallback, ProgressEvent
from bot.authz import Decision
from bot.errors import InvalidArguments, Misconfigured, ToolError
from bot.logs import get_logger
from bot.tools.base import Effect, Tool, ToolContext
from integrations.llm.base import ToolCall

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from bot.services import Services
    from bot.settings import Settings

logger = get_logger("agent.tools")


class Executor:
    """One turn's tool runner; its counters (failures, withdrawals, repeats, caps) live in the TurnState."""

    def __init__(
        self,
        *,
        deps: Services,
        state: TurnState,
        ctx: ToolContext,
        offered: dict[str, Tool],
        settings: Settings | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.deps = deps
        self.settings = settings or deps.settings
        """This turn's settings (the admins' overrides as they were when it started or resumed)."""
        self.state = state
        self.ctx = ctx
        self.offered = offered
        self.on_progress = on_progress
        self.misconfigured: Misconfigured | None = None
        """A call failed because an admin must fix a setting (e.g. Jira refused the bot's credential): the loop
        stops the turn after this response, tells the asker and the admins (bot/alerts.py)."""
        self.values: dict[str, Any] = {}
        """Raw return values by call id (the slash-command path renders them without the model)."""
        self._limit = asyncio.Semaphore(self.settings.chatops_max_parallel_calls)
        self.log = CallLog(deps=deps, state=state, settings=self.settings, offered=offered)

    # ---------------------------------------------------------------- one response

    async def run(self, calls: list[ToolCall], *, counted: bool = False, deferred: frozenset[str] = frozenset()) -> Paused | None:
        """Answer `calls` into `state.results`; return the pause point when a call needs confirmation."""
        marks = (len(self.state.trace), len(self.state.rows))
        try:
            return await self._run(calls, counted=counted, deferred=deferred)
        finally:
            self._in_call_order(calls, *marks)

    def _in_call_order(self, calls: list[ToolCall], trace_mark: int, rows_mark: int) -> None:
        """The trace and rows of this response read in the model's order, not in completion order."""
        order = {c.id: i for i, c in enumerate(calls)}
        self.state.trace[trace_mark:] = sorted(self.state.trace[trace_mark:], key=lambda t: order.get(t.tool_use_id, -1))
        self.state.rows[rows_mark:] = sorted(self.state.rows[rows_mark:], key=lambda row: order.get(row["tool_use_id"], -1))

    async def _run(self, calls: list[ToolCall], *, counted: bool, deferred: frozenset[str]) -> Paused | None:
        ready: list[CheckedCall] = []
        seen: dict[str, str] = {}
        for index, call in enumerate(calls):
            prepared = await self._prepare(call, index, counted=counted, seen=seen)
            if prepared is not None:
                prepared.deferred = call.id in deferred
                ready.append(prepared)
        i = 0
        while i < len(ready):
            if ready[i].tool.effect is Effect.WRITE:
                paused = await self._run_write(ready[i], rest=ready[i + 1 :])
                i += 1
            else:
                j = i
                while j < len(ready) and ready[j].tool.effect is Effect.READ:
                    j += 1
                paused = await self._run_reads(ready[i:j], rest=ready[j:])
                i = j
            if paused is not None:
                return paused
        return None

    async def _prepare(self, call: ToolCall, index: int, *, counted: bool, seen: dict[str, str]) -> CheckedCall | None:
        """Caps, unknown tools, unreadable or invalid arguments, repeats: answered here, never run."""
        checked = check_call(call, index, settings=self.settings, state=self.state, offered=self.offered, counted=counted, seen=seen)
        if isinstance(checked, CheckedCall):
            return checked
        self.log.refuse(call, checked.outcome, checked.text, fail=checked.failed, shown=checked.shown)
        return None

    async def _run_reads(self, batch: list[CheckedCall], *, rest: list[CheckedCall]) -> Paused | None:
        decisions = await asyncio.gather(*(self._authorize(c) for c in batch))
        allowed: list[tuple[CheckedCall, Decision]] = []
        confirm: list[tuple[CheckedCall, Decision]] = []
        for c, decision in zip(batch, decisions, strict=True):
            if decision is None:
                continue
            if decision.outcome == "allow":
                allowed.append((c, decision))
            elif decision.outcome == "deny":
                await self._deny(c, decision)
            else:
                confirm.append((c, decision))

        async def bounded(c: CheckedCall, decision: Decision) -> None:
            async with self._limit:
                await self._execute(c, decision)

        await asyncio.gather(*(bounded(c, d) for c, d in allowed))
        if confirm:
            first, decision = confirm[0]
            later = [c for c, _ in confirm[1:]]
            return self._pause(first, decision, [*later, *rest], deferred=[c.call.id for c in later])
        return None

    async def _run_write(self, c: CheckedCall, *, rest: list[CheckedCall]) -> Paused | None:
        decision = await self._authorize(c)
        if decision is None:
            return None
        if decision.outcome == "allow":
            await self._execute(c, decision)
        elif decision.outcome == "deny":
            await self._deny(c, decision)
        else:
            return self._pause(c, decision, rest, deferred=[])
        return None

    async def _authorize(self, c: CheckedCall) -> Decision | None:
        """The single authorization of a validated call; None when it was answered with an error instead."""
        if c.deferred:
            return CONFIRM_DEFERRED  # authorized as `confirm` before the pause; never asked twice
        try:
            return await authorize_call(self.deps.authorizer, self._ctx(c.call), c.tool, c.args)
        except ToolError as exc:  # e.g. the ticket whose project decides does not exist
            if isinstance(exc, Misconfigured):
                self.misconfigured = exc
            self.log.refuse(c.call, "error", str(exc))
            return None

    def _pause(self, c: CheckedCall, decision: Decision, rest: list[CheckedCall], *, deferred: list[str]) -> Paused:
        arguments = r.compact(c.args.model_dump(mode="json"))
        self.log.record(c.call, "pending", decision, "Waiting for the requester to approve.", 0.0, arguments=arguments)
        self.state.results.pop(c.call.id, None)  # its result comes with the decision
        return Paused(call=c.call, remaining=[x.call for x in rest], deferred=deferred, reason=decision.reason)

    # ---------------------------------------------------------------- after an approval decision

    async def run_approved(self, call: ToolCall, *, approval_id: str, decided_by: str) -> bool:
        """Run an approved call once (its idempotency key is the approval's); True when it succeeded.

        The call is authorized again first, as the requester, under the policy as it is now: whoever resumes
        (the Slack buttons, the shell, anything else) cannot run what is no longer allowed. `confirm` counts as
        allowed here (this is the confirmation); `deny` declines it and the model hears it is no longer permitted.
        """
        tool = self.offered.get(call.name)
        if tool is None:  # the actor lost the tool between the request and the click
            await self.decline(call, reason="not_permitted", decided_by=decided_by, why="tool no longer offered to this user")
            return False
        try:
            args = tool.args_model.model_validate(call.input)
        except ValidationError as exc:
            self.log.refuse(call, "invalid", r.validation_feedback(call.name, exc))
            return False
        c = CheckedCall(call, tool, args, r.call_key(call.name, args.model_dump(mode="json")))
        now = await self._authorize(c)
        if now is None:  # answered with the error (e.g. the ticket is gone)
            return False
        if now.outcome == "deny":
            await self.decline(call, reason="not_permitted", decided_by=decided_by, why=now.reason, rule=now.rule)
            return False
        decision = Decision("confirm", f"approved by {decided_by}", "approval")
        outcome = await self._execute(c, decision, idempotency_key=f"approval:{approval_id}")
        return outcome == "ok"

    async def decline(
        self,
        call: ToolCall,
        *,
        reason: DeclineReason,
        decided_by: str,
        why: str = "",
        rule: str = "approval",
        waited_minutes: int | None = None,
    ) -> None:
        """Tell the model the action was not performed, and why (see `CallLog.decline`)."""
        await self.log.decline(call, reason=reason, decided_by=decided_by, why=why, rule=rule, waited_minutes=waited_minutes)

    # ---------------------------------------------------------------- running and recording

    async def _execute(self, c: CheckedCall, decision: Decision, *, idempotency_key: str | None = None) -> CallOutcome:
        with self.deps.tracing.tool_call(tool=c.tool.name, call_id=c.call.id) as span:
            return await self._run_call(c, decision, span, idempotency_key)

    async def _run_call(self, c: CheckedCall, decision: Decision, span: Span, idempotency_key: str | None) -> CallOutcome:
        call, tool = c.call, c.tool
        write = tool.effect is Effect.WRITE
        key = idempotency_key or f"{self.state.turn_id}:{call.id}"
        if write and not await self._claim(c, key):
            self.log.record(call, "error", decision, f"Not sent: this action was already sent once (key {key}); it is never sent twice.", 0.0, span=span)
            return "error"
        await self._emit(ProgressEvent(kind="tool_started", tool_use_id=call.id, tool=tool.name, title=tool.name, detail=_detail(call)))
        started = time.monotonic()
        timeout = self.settings.chatops_tool_timeout_seconds
        outcome: CallOutcome = "ok"
        call_ctx = self._ctx(call)
        plain: str | None = None
        """The result as data, for people (trace, progress, rows); `text` is what the model gets."""
        try:
            value = await asyncio.wait_for(tool.func(call_ctx, c.args), timeout)
            self.values[call.id] = value
            plain = r.cap(r.to_json(value), self.settings.chatops_max_result_chars)
            text = r.wrap_untrusted(tool.name, plain)
            self.state.done_calls[c.key] = text
        except TimeoutError:
            outcome = "timeout"
            text = f"{tool.name} did not answer within {timeout:g} seconds and was stopped."
            if write:  # the backend may have applied it: never let a repeat send it again
                text += " The change may or may not have been applied; check before trying again."
                self.state.done_calls[c.key] = text
        except ToolError as exc:
            outcome = "error"
            if isinstance(exc, Misconfigured):
                self.misconfigured = exc
            text = f"{exc}\n{r.FIX_HINT}" if isinstance(exc, InvalidArguments) else str(exc) or type(exc).__name__
        except Exception as exc:
            outcome = "error"
            logger.exception("tool crashed", extra={"fields": {"tool": tool.name, "conversation_id": self.state.conversation_id}})
            text = f"{tool.name} failed unexpectedly ({type(exc).__name__}); the error was logged. Try another approach or tell the user."
        ms = (time.monotonic() - started) * 1000
        if self.ctx.me is None and call_ctx.me is not None:
            self.ctx.me = call_ctx.me  # `me` is resolved lazily by the tools (bot/tools/people.py); once per turn
        if outcome != "ok":
            text = self.log.failed(tool.name, text)
        shown = text if plain is None else plain
        if write:
            await self._finish_write(c, key, outcome, shown)
        self.log.record(call, outcome, decision, text, ms, shown=shown, span=span)
        await self._emit(ProgressEvent(kind="tool_finished" if outcome == "ok" else "tool_failed", tool_use_id=call.id, tool=tool.name, title=tool.name, detail=r.summarise(shown, 120)))
        return outcome

    async def _claim(self, c: CheckedCall, key: str) -> bool:
        return await self.deps.store.claim_write(
            key=key,
            user_id=self.state.actor.user_id,
            tool=c.tool.name,
            target=target(c.tool, c.call, c.args),
            conversation_id=self.state.conversation_id,
            tool_use_id=c.call.id,
            details={"arguments": r.redact(c.call.input), "turn_id": self.state.turn_id},
        )

    async def _finish_write(self, c: CheckedCall, key: str, outcome: CallOutcome, shown: str) -> None:
        """Add how the write ended to its audit row (the claim's arguments stay); a create's target becomes its new
        ticket's key, with the project kept in the details."""
        details: dict[str, Any] = {"outcome": outcome, "result" if outcome == "ok" else "error": r.summarise(shown, 200)}
        keys, projects = c.tool.targets(c.args)
        created = r.created_key(self.values.get(c.call.id)) if outcome == "ok" and projects and not keys else None
        if created is not None:
            details |= {"created_key": created, "project": ",".join(projects)}
        await self.deps.store.finish_write(key, status="done" if outcome == "ok" else outcome, details=details, target=created)

    async def _deny(self, c: CheckedCall, decision: Decision) -> None:
        await self.log.deny(c.call, decision, c.tool, c.args)

    def _ctx(self, call: ToolCall) -> ToolContext:
        return dataclasses.replace(self.ctx, call_id=call.id)

    async def _emit(self, event: ProgressEvent) -> None:
        if self.on_progress is None:
            return
        try:
            await self.on_progress(event)
        except Exception:  # a progress display failing must not fail the turn
            logger.warning("progress callback failed", exc_info=True)


def _detail(call: ToolCall) -> str:
    shown = r.redact(call.input)
    return r.summarise(", ".join(f"{k}={v}" for k, v in shown.items()), 120)
