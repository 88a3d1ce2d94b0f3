"""Runs one response's tool calls: validate → authorize (the one place that calls `authorize`) → run.

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
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError

from bot.agent import results as r
from bot.agent.state import Paused, TurnState
from bot.agent.types import CallOutcome, DeclineReason, ProgressCallback, ProgressEvent, TraceEntry
from bot.authz import Decision
from bot.errors import InvalidArguments, Misconfigured, ToolError
from bot.logs import get_logger, log_event
from bot.storage.audit import AuditAction
from bot.storage.conversations import tool_call_row
from bot.tools.base import Effect, Tool, ToolArgs, ToolContext
from integrations.llm.base import ToolCall, ToolResult

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.settings import Settings

logger = get_logger("agent.tools")

CONFIRM_DEFERRED = Decision("confirm", "needs confirmation", "deferred")


@dataclass
class _Call:
    """A call that passed the checks and may be authorized and run."""

    call: ToolCall
    tool: Tool
    args: ToolArgs
    key: str
    deferred: bool = False


class _Refusal(NamedTuple):
    """A call answered before authorization: its outcome, the text for the model, and what the trace shows."""

    outcome: CallOutcome
    text: str
    failed: bool = False
    """True when it counts as a failed attempt of the tool."""
    shown: str | None = None
    """The trace's text when it differs from the model's."""


class Executor:
    """One turn's tool runner; its counters (failures, withdrawals, repeats, caps) live in the TurnState."""

    def __init__(
        self,
        *,
        deps: Deps,
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
        ready: list[_Call] = []
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

    async def _prepare(self, call: ToolCall, index: int, *, counted: bool, seen: dict[str, str]) -> _Call | None:
        """Caps, unknown tools, unreadable or invalid arguments, repeats: answered here, never run."""
        checked = self._check(call, index, counted=counted, seen=seen)
        if isinstance(checked, _Call):
            return checked
        await self._refuse(call, checked.outcome, checked.text, fail=checked.failed, shown=checked.shown)
        return None

    def _check(self, call: ToolCall, index: int, *, counted: bool, seen: dict[str, str]) -> _Call | _Refusal:
        s, state = self.settings, self.state
        if not counted:
            if index >= s.chatops_max_calls_per_response:
                return _Refusal("capped", f"Not run: at most {s.chatops_max_calls_per_response} tool calls are run per response. Ask for fewer at once.")
            if state.calls_made >= s.chatops_max_tool_calls:
                return _Refusal("capped", f"Not run: the limit of {s.chatops_max_tool_calls} tool calls in one turn is reached. Answer with what you have.")
            state.calls_made += 1
        tool = self.offered.get(call.name)
        if tool is None:
            names = ", ".join(sorted(self.offered)) or "none"
            return _Refusal("invalid", f"Unknown tool {call.name!r}. The tools you may call are: {names}.", failed=True)
        if call.name in state.withdrawn:
            return _Refusal("capped", (
                f"Not run: {call.name} was withdrawn for the rest of this turn after {s.chatops_max_tool_failures} failed "
                "attempts. Do not call it again; answer with what you have or explain the problem."
            ))
        if call.input_error:
            return _Refusal("invalid", f"The arguments of {call.name} could not be read: {call.input_error}. Send the arguments as one JSON object.\n{r.FIX_HINT}", failed=True)
        try:
            args = tool.args_model.model_validate(call.input)
        except ValidationError as exc:
            return _Refusal("invalid", r.validation_feedback(call.name, exc), failed=True)
        key = r.call_key(call.name, args.model_dump(mode="json"))
        if key in state.done_calls:
            repeated = f"Not run again: this exact call ({call.name} with the same arguments) was already made in this turn."
            # The model gets the earlier result again; the trace just points at the earlier call.
            return _Refusal("capped", f"{repeated} Its earlier result:\n{state.done_calls[key]}", shown=repeated)
        if key in seen:
            return _Refusal("capped", f"Not run: it repeats call {seen[key]} of this same response, which was run once.")
        seen[key] = call.id
        return _Call(call=call, tool=tool, args=args, key=key)

    async def _run_reads(self, batch: list[_Call], *, rest: list[_Call]) -> Paused | None:
        decisions = await asyncio.gather(*(self._authorize(c) for c in batch))
        allowed: list[tuple[_Call, Decision]] = []
        confirm: list[tuple[_Call, Decision]] = []
        for c, decision in zip(batch, decisions, strict=True):
            if decision is None:
                continue
            if decision.outcome == "allow":
                allowed.append((c, decision))
            elif decision.outcome == "deny":
                await self._deny(c, decision)
            else:
                confirm.append((c, decision))

        async def bounded(c: _Call, decision: Decision) -> None:
            async with self._limit:
                await self._execute(c, decision)

        await asyncio.gather(*(bounded(c, d) for c, d in allowed))
        if confirm:
            first, decision = confirm[0]
            later = [c for c, _ in confirm[1:]]
            return self._pause(first, decision, [*later, *rest], deferred=[c.call.id for c in later])
        return None

    async def _run_write(self, c: _Call, *, rest: list[_Call]) -> Paused | None:
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

    async def _authorize(self, c: _Call) -> Decision | None:
        """The single authorization of a validated call; None when it was answered with an error instead."""
        if c.deferred:
            return CONFIRM_DEFERRED  # authorized as `confirm` before the pause; never asked twice
        try:
            return await self.deps.authorizer.authorize(self._ctx(c.call), c.tool, c.args)
        except ToolError as exc:  # e.g. the ticket whose project decides does not exist
            if isinstance(exc, Misconfigured):
                self.misconfigured = exc
            await self._refuse(c.call, "error", str(exc))
            return None
        except Exception as exc:  # fail closed: an authorizer that breaks denies
            logger.exception("authorizer failed", extra={"fields": {"tool": c.tool.name}})
            return Decision("deny", f"authorization failed: {type(exc).__name__}", "error")

    def _pause(self, c: _Call, decision: Decision, rest: list[_Call], *, deferred: list[str]) -> Paused:
        arguments = r.compact(c.args.model_dump(mode="json"))
        self._record(c.call, "pending", decision, "Waiting for the requester to approve.", 0.0, arguments=arguments)
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
            await self._refuse(call, "invalid", r.validation_feedback(call.name, exc))
            return False
        c = _Call(call, tool, args, r.call_key(call.name, args.model_dump(mode="json")))
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
        """Tell the model the action was not performed, and why: cancelled, expired (after `waited_minutes`), or
        no longer permitted."""
        tool = self.offered.get(call.name)
        details: dict[str, Any] = {"decided_by": decided_by}
        if reason == "expired":
            minutes = waited_minutes if waited_minutes is not None else self.settings.chatops_approval_timeout_minutes
            text = f"Not performed: the approval request expired after {minutes} minutes without an answer. Do not retry it unless the user asks again."
            outcome: CallOutcome = "cancelled"
            decision = Decision("confirm", "expired", rule)
            action: AuditAction = "expired"
            status = "not_sent"
        elif reason == "not_permitted":
            text = (
                f"Not performed: {call.name} was approved, but it is no longer permitted for {self.state.actor.label} "
                "under the current policy (it changed while the request waited). It was not run; do not retry it. "
                "Tell the user it is no longer allowed."
            )
            outcome = "denied"
            decision = Decision("deny", f"no longer permitted: {why}" if why else "no longer permitted", rule)
            action, status = "denied", "denied"
            details |= {"reason": decision.reason, "rule": rule, "arguments": r.redact(call.input)}
        else:
            text = "Not performed: the user declined this action. Do not retry it unless the user asks again."
            outcome = "cancelled"
            decision = Decision("confirm", f"declined by {decided_by}", rule)
            action, status = "cancelled", "not_sent"
        self._record(call, outcome, decision, text, 0.0)
        await self.deps.store.record_audit(
            user_id=self.state.actor.user_id,
            action=action,
            tool=call.name,
            target=self._target(tool, call),
            status=status,
            details=details | {"turn_id": self.state.turn_id},
            conversation_id=self.state.conversation_id,
            tool_use_id=call.id,
        )

    # ---------------------------------------------------------------- running and recording

    async def _execute(self, c: _Call, decision: Decision, *, idempotency_key: str | None = None) -> CallOutcome:
        call, tool = c.call, c.tool
        write = tool.effect is Effect.WRITE
        key = idempotency_key or f"{self.state.turn_id}:{call.id}"
        if write and not await self._claim(c, key):
            self._record(call, "error", decision, f"Not sent: this action was already sent once (key {key}); it is never sent twice.", 0.0)
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
            text = self._failed(tool.name, text)
        shown = text if plain is None else plain
        if write:
            await self._finish_write(c, key, outcome, shown)
        self._record(call, outcome, decision, text, ms, shown=shown)
        await self._emit(ProgressEvent(kind="tool_finished" if outcome == "ok" else "tool_failed", tool_use_id=call.id, tool=tool.name, title=tool.name, detail=r.summarise(shown, 120)))
        return outcome

    async def _claim(self, c: _Call, key: str) -> bool:
        return await self.deps.store.claim_write(
            key=key,
            user_id=self.state.actor.user_id,
            tool=c.tool.name,
            target=self._target(c.tool, c.call, c.args),
            conversation_id=self.state.conversation_id,
            tool_use_id=c.call.id,
            details={"arguments": r.redact(c.call.input), "turn_id": self.state.turn_id},
        )

    async def _finish_write(self, c: _Call, key: str, outcome: CallOutcome, shown: str) -> None:
        """Add how the write ended to its audit row (the claim's arguments stay); a create's target becomes its new
        ticket's key, with the project kept in the details."""
        details: dict[str, Any] = {"outcome": outcome, "result" if outcome == "ok" else "error": r.summarise(shown, 200)}
        keys, projects = c.tool.targets(c.args)
        created = r.created_key(self.values.get(c.call.id)) if outcome == "ok" and projects and not keys else None
        if created is not None:
            details |= {"created_key": created, "project": ",".join(projects)}
        await self.deps.store.finish_write(key, status="done" if outcome == "ok" else outcome, details=details, target=created)

    async def _deny(self, c: _Call, decision: Decision) -> None:
        await self._deny_call(c.call, decision, c.tool, c.args)

    async def _deny_call(self, call: ToolCall, decision: Decision, tool: Tool | None, args: ToolArgs | None = None) -> None:
        text = f"Not permitted: {self.state.actor.label} may not run {call.name} with these arguments here. It was not run; do not retry it. Tell the user it is not allowed."
        self._record(call, "denied", decision, text, 0.0)
        await self.deps.store.record_audit(
            user_id=self.state.actor.user_id,
            action="denied",
            tool=call.name,
            target=self._target(tool, call, args),
            status="denied",
            details={"reason": decision.reason, "rule": decision.rule, "arguments": r.redact(call.input), "turn_id": self.state.turn_id},
            conversation_id=self.state.conversation_id,
            tool_use_id=call.id,
        )

    async def _refuse(self, call: ToolCall, outcome: CallOutcome, text: str, *, fail: bool = False, shown: str | None = None) -> None:
        if fail:
            text = self._failed(call.name, text)
        self._record(call, outcome, Decision("allow", "not authorized: answered before authorization", "none"), text, 0.0, shown=shown, decided=False)

    def _failed(self, name: str, text: str) -> str:
        """Count a failed attempt; withdraw the tool for the turn at the cap."""
        count = self.state.failures.get(name, 0) + 1
        self.state.failures[name] = count
        cap = self.settings.chatops_max_tool_failures
        if count >= cap and name in self.offered and name not in self.state.withdrawn:
            self.state.withdrawn.add(name)
            text += f"\n{name} has now failed {count} times in this turn and is withdrawn for the rest of it."
        return text

    def _record(
        self,
        call: ToolCall,
        outcome: CallOutcome,
        decision: Decision,
        text: str,
        ms: float,
        *,
        shown: str | None = None,
        arguments: dict[str, Any] | None = None,
        decided: bool = True,
    ) -> None:
        """`text` goes to the model; the trace and the row summarise `shown` (the plain result), else `text`."""
        state = self.state
        state.results[call.id] = ToolResult(tool_call_id=call.id, content=text, is_error=outcome != "ok")
        summary = r.summarise(text if shown is None else shown)
        shown_args = r.redact(arguments if arguments is not None else call.input)
        decision_name = decision.outcome if decided else "none"
        entry = TraceEntry(call.id, call.name, shown_args, outcome, decision_name, decision.reason, summary, round(ms, 1))
        # the label is a known tool's name: the model's spelling of an unknown one would grow the series unbounded
        known = call.name if any(t.name == call.name for t in self.deps.tools) else "unknown"
        self.deps.metrics.tool_call(known, outcome, ms / 1000)
        waiting = [i for i, t in enumerate(state.trace) if t.tool_use_id == call.id and t.outcome == "pending"]
        if waiting:  # the decision on an approval replaces its `pending` entry
            state.trace[waiting[0]] = entry
        else:
            state.trace.append(entry)
        state.rows.append(
            tool_call_row(
                turn_id=state.turn_id,
                conversation_id=state.conversation_id,
                tool_use_id=call.id,
                user_id=state.actor.user_id,
                tool=call.name[:64],
                arguments=shown_args,
                decision=decision_name,
                decision_reason=decision.reason or None,
                outcome=outcome,
                result=summary if outcome == "ok" else None,
                error=None if outcome == "ok" else summary,
                duration_ms=round(ms, 1),
                created_at=self.deps.clock(),
            )
        )
        log_event(
            logger,
            "tool call",
            logging.INFO if outcome in ("ok", "pending") else logging.WARNING,
            conversation_id=state.conversation_id,
            turn_id=state.turn_id,
            user=state.actor.user_id,
            tool=call.name,
            ms=round(ms, 1),
            outcome=outcome,
            decision=decision_name,
            result_chars=len(text),
        )

    def _ctx(self, call: ToolCall) -> ToolContext:
        return dataclasses.replace(self.ctx, call_id=call.id)

    @staticmethod
    def _target(tool: Tool | None, call: ToolCall, args: ToolArgs | None = None) -> str | None:
        if tool is not None and args is not None:
            keys, projects = tool.targets(args)
            return ",".join(keys + projects) or None
        value = call.input.get("key") or call.input.get("project")
        return str(value) if value else None

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
