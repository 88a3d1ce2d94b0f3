"""`Agent`: one conversation turn — history in, model steps and tool calls, an answer and a trace out.

`run_turn` never raises for model or tool failures: it returns a status (`answered`, `paused`, `failed`,
`refused`, `capped`) with a text that is never empty. Tool calls run only from a response that stopped for
`tool_use`: those of a response cut off at the output limit, ended any other way, or never finished (the adapter
raises `ModelUnavailable` for an incomplete stream) are never run.

Turns in the same thread run one at a time (a per-thread lock); turns in different threads run concurrently. The
request prefix (tools + system) stays byte-identical across steps and turns so the prompt cache hits: the system
prompt is static, and who is asking, the date and any Slack context go into the turn's first user message.

The model and the limits are read at the start of every turn (`LivePolicy.settings`, `deps.live`): an admin's
change in the config modal applies from the next request, in every process, without a restart.

Beside it: turns.py (starting, storing and serializing turns), approvals.py (pausing at a write that needs
confirmation, taking the decision), executor.py with checks.py and call_log.py (one response's tool calls).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.agent import history as hist
from bot.agent.approvals import apply_decision, claim_decision, pause
from bot.agent.executor import Executor
from bot.agent.leasing import turn_request
from bot.agent.opening import opening_text, user_hash
from bot.agent.results import render_markdown
from bot.agent.state import ThreadRef, TurnState
from bot.agent.turns import Turns, turn_result
from bot.agent.types import DeclineReason, ProgressCallback, ProgressEvent, TurnResult
from bot.errors import Misconfigured, ModelError, ModelRateLimited, ModelRequestError
from bot.logs import get_logger, log_event
from bot.mcp.catalogue import turn_tools
from bot.messages import agent as agent_text
from bot.messages import approvals as approval_text
from bot.tools.base import Actor, Tool, ToolContext
from integrations.llm.base import LLM, Message, TextBlock, ToolCall, ToolChoice, ToolSpec
from prompts import load_prompt

if TYPE_CHECKING:
    from bot.services import Services
    from bot.settings import Settings

__all__ = ["Agent", "ThreadRef"]

logger = get_logger("agent")

MAX_OUTPUT_TOKENS = 64_000
TRUNCATION_NUDGE = (
    "Your previous reply was cut off at the output limit, so none of its tool calls were run. "
    "Reply again more briefly, with fewer tool calls at once."
)


class Agent:
    """The tool loop over `deps.llm`, `deps.tools`, `deps.authorizer` and `deps.store`. One per process, built by
    `bot.wiring.build_deps` (`Deps.agent`), so every surface shares its per-thread locks."""

    def __init__(self, deps: Services) -> None:
        self.deps = deps
        self.system = load_prompt("system")
        self.turns = Turns(deps)
        self._specs: dict[tuple[str, int], ToolSpec] = {}

    # ---------------------------------------------------------------- public API

    async def run_turn(
        self,
        *,
        actor: Actor,
        thread: ThreadRef,
        text: str,
        tool_choice: ToolChoice | None = None,
        on_progress: ProgressCallback | None = None,
        context: str | None = None,
    ) -> TurnResult:
        """Answer one message of a thread (see the module docstring)."""
        if not text.strip():
            return TurnResult(status="failed", text=agent_text.empty_question())
        settings = await self.turns.settings()
        if len(text) > settings.chatops_max_message_chars:
            return TurnResult(status="failed", text=agent_text.message_too_long(len(text), settings.chatops_max_message_chars))
        if self.deps.llm is None:
            return TurnResult(status="failed", text=agent_text.missing_api_key())
        async with self.turns.lock(thread):
            request = turn_request(actor, text=text, context=context, tool_choice=tool_choice)
            state = await self.turns.begin(actor, thread, settings, request)
            if state is None:
                return TurnResult(status="failed", text=agent_text.database_unavailable())
            state.history = hist.prepare(state.history, settings.chatops_history_chars)
            opening = opening_text(actor, text.strip(), context, today=self.deps.clock())
            state.new.append(Message(role="user", content=[TextBlock(text=opening)]))
            return await self._guarded(state, settings, on_progress, lambda ex: self._steps(state, ex, tool_choice, on_progress))

    async def resume(
        self,
        *,
        approval_id: str,
        approved: bool,
        decided_by: str,
        decline_reason: DeclineReason = "cancelled",
        on_progress: ProgressCallback | None = None,
    ) -> TurnResult:
        """Run the approved call once (re-authorized under the policy as it is now), or tell the model it was
        declined and why (`decline_reason`: the user cancelled, or the action is no longer permitted); then
        continue the same turn."""
        return await self._decide(
            approval_id, approved=approved, decided_by=decided_by, expire=False, reason=decline_reason, on_progress=on_progress
        )

    async def expire(self, *, approval_id: str, on_progress: ProgressCallback | None = None) -> TurnResult:
        """Expire an overdue approval and let the model tell the user the action was not done."""
        return await self._decide(
            approval_id, approved=False, decided_by="timeout", expire=True, reason="expired", on_progress=on_progress
        )

    async def run_tool(
        self,
        *,
        actor: Actor,
        thread: ThreadRef,
        tool_name: str,
        arguments: dict[str, Any],
        on_progress: ProgressCallback | None = None,
    ) -> TurnResult:
        """The slash-command fast path: one call with the same checks, trace and audit, and no model."""
        settings = await self.turns.settings()
        async with self.turns.lock(thread):
            state = await self.turns.begin(actor, thread, settings, turn_request(actor, tool_name=tool_name, arguments=arguments))
            if state is None:
                return TurnResult(status="failed", text=agent_text.database_unavailable())
            state.history, state.direct = [], True
            call = ToolCall(id=f"direct_{uuid.uuid4().hex[:20]}", name=tool_name, input=dict(arguments))

            async def direct(executor: Executor) -> TurnResult:
                paused = await executor.run([call])
                if paused is not None:
                    return await pause(self.deps, state, executor, paused)
                return _direct_result(state, executor, call)

            return await self._guarded(state, settings, on_progress, direct)

    # ---------------------------------------------------------------- the steps

    async def _steps(
        self, state: TurnState, executor: Executor, tool_choice: ToolChoice | None, on_progress: ProgressCallback | None
    ) -> TurnResult:
        llm = self.deps.llm
        assert llm is not None
        choice = tool_choice
        settings = executor.settings
        while state.steps < settings.chatops_max_steps:
            specs = [self._spec(t) for t in executor.offered.values() if t.name not in state.withdrawn]
            response = await self._complete(llm, state, specs, choice, on_progress, model=settings.chatops_model)
            choice = None  # a forced tool applies to the first step; then the model answers freely
            state.steps += 1
            state.usage = state.usage + response.usage
            state.stop_reason = response.stop_reason
            state.model = response.model or settings.chatops_model
            message, reason = response.message, response.stop_reason
            if reason == "tool_use":
                state.new.append(message)
                if on_progress is not None and message.text.strip():
                    # what the model wrote before its calls ("Let me check OPS-3.") is progress, not the answer
                    await _emit(on_progress, ProgressEvent(kind="interim", text=message.text.strip()))
                paused = await executor.run(message.tool_calls)
                if paused is not None:
                    return await pause(self.deps, state, executor, paused)
                self._answer_calls(state)
                _stop_if_misconfigured(executor)
            elif reason in ("end_turn", "stop_sequence"):
                # Only a `tool_use` stop runs tools: calls in any other response are dropped, never run.
                if message.tool_calls:
                    log_event(logger, "tool calls without tool_use stop dropped", logging.WARNING, turn_id=state.turn_id, stop_reason=reason)
                    message = _text_only(message)
                if message.text.strip():
                    state.new.append(message)
                    return turn_result(state, "answered", message.text.strip())
                return turn_result(state, "failed", agent_text.empty_answer())
            elif reason == "max_tokens":
                partial = _text_only(message)
                if partial.text.strip():
                    state.new.append(partial)  # never the truncated tool calls: they are not run
                if state.truncations >= 1:
                    return turn_result(state, "failed", (partial.text.strip() + agent_text.answer_truncated()).strip())
                state.truncations += 1
                state.max_tokens = min(state.max_tokens * 2, MAX_OUTPUT_TOKENS)
                state.new.append(Message(role="user", content=[TextBlock(text=TRUNCATION_NUDGE)]))
            elif reason == "pause_turn":
                if message.content:
                    state.new.append(message)
            elif reason == "refusal":
                log_event(logger, "model refused", logging.WARNING, turn_id=state.turn_id, detail=response.refusal_detail)
                return turn_result(state, "refused", agent_text.model_refused())
            elif reason == "context_exceeded":
                if state.context_retries >= 1 or not state.history:
                    return turn_result(state, "failed", agent_text.context_too_long())
                state.context_retries += 1
                state.history = hist.trim(state.history, hist.size(state.history) // 4, drop_all=True)
        return turn_result(state, "capped", agent_text.step_cap_reached(state.steps))

    async def _complete(
        self,
        llm: LLM,
        state: TurnState,
        specs: list[ToolSpec],
        choice: ToolChoice | None,
        on_progress: ProgressCallback | None,
        *,
        model: str,
    ) -> Any:
        on_text = None
        if on_progress is not None:
            await _emit(on_progress, ProgressEvent(kind="thinking"))

            async def on_text(delta: str) -> None:
                await _emit(on_progress, ProgressEvent(kind="text", text=delta))

        started = time.monotonic()
        messages = state.view()
        tracing = self.deps.tracing
        with tracing.model_call(provider=self.deps.settings.chatops_provider, model=model, max_tokens=state.max_tokens, messages=messages) as span:
            try:
                response = await llm.complete(
                    system=self.system,
                    messages=messages,
                    tools=specs,
                    tool_choice=choice,
                    max_tokens=state.max_tokens,
                    on_text=on_text,
                    user_hash=user_hash(state.actor),
                    model=model,
                )
            except Exception:
                self.deps.metrics.model_call("error", time.monotonic() - started)
                raise
            tracing.model_answered(span, response)
        self.deps.metrics.model_call(str(response.stop_reason), time.monotonic() - started, response.usage)
        return response

    def _spec(self, tool: Tool) -> ToolSpec:
        """A tool's definition, built once (pydantic schema generation costs ~1 ms per tool)."""
        key = (tool.name, id(tool))
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = tool.spec()
        return spec

    @staticmethod
    def _answer_calls(state: TurnState) -> None:
        """All results of the last response, in tool_use order, in one user message."""
        calls = state.new[-1].tool_calls
        results = [state.results[c.id] for c in calls]
        state.new.append(Message(role="user", content=list(results)))
        state.results = {}

    # ---------------------------------------------------------------- approvals (bot/agent/approvals.py)

    async def _decide(
        self,
        approval_id: str,
        *,
        approved: bool,
        decided_by: str,
        expire: bool,
        reason: DeclineReason,
        on_progress: ProgressCallback | None,
    ) -> TurnResult:
        row = await self.deps.store.get_approval(approval_id)
        if row is None:
            return TurnResult(status="failed", text=approval_text.approval_unknown())
        settings = await self.turns.settings()
        async with self.turns.lock(ThreadRef(row.team_id, row.channel_id, row.thread_ts)):
            decided = await claim_decision(self.deps, row, approved=approved, decided_by=decided_by, expire=expire)
            if isinstance(decided, TurnResult):
                return decided
            state, paused = decided.state, decided.paused

            async def continue_turn(executor: Executor) -> TurnResult:
                await apply_decision(self.deps, executor, decided, decided_by=decided_by, reason=reason)
                again = await executor.run(paused.remaining, counted=True, deferred=frozenset(paused.deferred))
                if again is not None:
                    return await pause(self.deps, state, executor, again)
                if state.direct:
                    return _direct_result(state, executor, paused.call)
                self._answer_calls(state)
                _stop_if_misconfigured(executor)
                return await self._steps(state, executor, None, on_progress)

            return await self._guarded(state, settings, on_progress, continue_turn)

    # ---------------------------------------------------------------- running a turn's body

    async def _guarded(
        self,
        state: TurnState,
        settings: Settings,
        on_progress: ProgressCallback | None,
        body: Callable[[Executor], Awaitable[TurnResult]],
    ) -> TurnResult:
        """Run `body(executor)`; map model failures and crashes to a clear result; always store the turn."""
        tracing = self.deps.tracing
        with tracing.turn(conversation_id=state.conversation_id, turn_id=state.turn_id, user_hash=user_hash(state.actor)) as span:
            result = await self._run_body(state, settings, on_progress, body)
            tracing.turn_ended(span, outcome=result.status, steps=state.steps, tool_calls=len(result.trace), usage=state.usage)
            await self.turns.finish(state, result)
        return result

    async def _run_body(
        self,
        state: TurnState,
        settings: Settings,
        on_progress: ProgressCallback | None,
        body: Callable[[Executor], Awaitable[TurnResult]],
    ) -> TurnResult:
        self.deps.metrics.in_flight.inc()
        try:
            executor = await self._executor(state, settings, on_progress)
            result = await body(executor)
        except Misconfigured as exc:  # before ModelError: a refused API key is both
            state.error = str(exc)
            told = await self.deps.alerts.report(exc, asker=state.actor.user_id, channel=state.thread.channel_id)
            result = turn_result(state, "failed", agent_text.misconfigured(exc.summary, told=told))
        except ModelError as exc:
            state.error = str(exc)
            text = agent_text.model_busy() if isinstance(exc, ModelRateLimited) else agent_text.model_request_failed() if isinstance(exc, ModelRequestError) else agent_text.model_unavailable()
            result = turn_result(state, "failed", text)
        except Exception as exc:
            logger.exception("turn crashed", extra={"fields": {"turn_id": state.turn_id}})
            state.error = f"{type(exc).__name__}: {exc}"[:500]
            result = turn_result(state, "failed", agent_text.internal_error())
        finally:
            self.deps.metrics.in_flight.dec()
        return result

    async def _executor(self, state: TurnState, settings: Settings, on_progress: ProgressCallback | None) -> Executor:
        authorizer = self.deps.authorizer
        offered: list[Tool] = (await turn_tools(self.deps, state.actor)).tools
        # Tools read their limits (result size, time limit) from ctx.deps.settings: give them this turn's.
        deps = self.deps if settings is self.deps.settings else dataclasses.replace(self.deps, settings=settings)
        ctx = ToolContext(
            actor=state.actor,
            deps=deps,
            conversation_id=state.conversation_id,
            thread_ts=state.thread.thread_ts,
            visible_projects=await authorizer.visible_projects(state.actor),
        )
        return Executor(
            deps=self.deps, settings=settings, state=state, ctx=ctx, offered={t.name: t for t in offered}, on_progress=on_progress
        )


def _direct_result(state: TurnState, executor: Executor, call: ToolCall) -> TurnResult:
    """A slash command's direct call: its value rendered without the model, else its error."""
    _stop_if_misconfigured(executor)
    result = state.results.get(call.id)
    if call.id in executor.values and result is not None and not result.is_error:
        text = render_markdown(executor.values[call.id])[: executor.settings.chatops_max_result_chars] or "(empty result)"
        return turn_result(state, "answered", text)
    return turn_result(state, "failed", result.content if result else agent_text.internal_error())


def _stop_if_misconfigured(executor: Executor) -> None:
    """End the turn (every call of the response is answered first) when a setting an admin must fix failed it."""
    if executor.misconfigured is not None:
        raise executor.misconfigured


def _text_only(message: Message) -> Message:
    """The message without its tool calls (stored unanswered, they would break the next request)."""
    return Message(role="assistant", content=[b for b in message.content if isinstance(b, TextBlock)])


async def _emit(on_progress: ProgressCallback, event: ProgressEvent) -> None:
    try:
        await on_progress(event)
    except Exception:  # a progress display failing must not fail the turn
        logger.warning("progress callback failed", exc_info=True)
