"""The call log of a turn: how each tool call ended, written everywhere it is kept.

Every answered call gets exactly one result for the model (`state.results`), one trace entry (an approval's
decision replaces its `pending` entry), one tool_calls row, one metrics sample, one trace span and one log line. Denied, declined,
expired and no-longer-permitted calls also get their audit row here. Failed attempts are counted here: a tool that
fails `chatops_max_tool_failures` times is withdrawn for the rest of the turn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.agent import results as r
from bot.agent.state import TurnState
from bot.agent.types import CallOutcome, DeclineReason, TraceEntry
from bot.authz import Decision
from bot.logs import get_logger, log_event
from bot.storage.audit import AuditAction
from bot.storage.conversations import tool_call_row
from bot.tools.base import Tool, ToolArgs
from integrations.llm.base import ToolCall, ToolResult

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from bot.services import Services
    from bot.settings import Settings

logger = get_logger("agent.tools")


class CallLog:
    """Records one turn's calls into its TurnState, the metrics, the log and the audit log."""

    def __init__(self, *, deps: Services, state: TurnState, settings: Settings, offered: Mapping[str, Tool]) -> None:
        self.deps = deps
        self.state = state
        self.settings = settings
        self.offered = offered

    def record(
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
        span: Span | None = None,
    ) -> None:
        """`text` goes to the model; the trace and the row summarise `shown` (the plain result), else `text`.
        `span`: the running call's trace span (None: a call that never ran gets a span of its own here)."""
        state = self.state
        state.results[call.id] = ToolResult(tool_call_id=call.id, content=text, is_error=outcome != "ok")
        summary = r.summarise(text if shown is None else shown)
        shown_args = r.redact(arguments if arguments is not None else call.input)
        decision_name = decision.outcome if decided else "none"
        entry = TraceEntry(call.id, call.name, shown_args, outcome, decision_name, decision.reason, summary, round(ms, 1))
        # the label is a known tool's name: the model's spelling of an unknown one would grow the series unbounded
        known = call.name if any(t.name == call.name for t in self.deps.tools) else "unknown"
        self.deps.metrics.tool_call(known, outcome, ms / 1000)
        self.deps.tracing.tool_ended(
            span, tool=call.name[:64], call_id=call.id, outcome=outcome, decision=decision_name, rule=decision.rule,
            arguments=shown_args, result=text if shown is None else shown, ms=ms,
        )
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

    def refuse(self, call: ToolCall, outcome: CallOutcome, text: str, *, fail: bool = False, shown: str | None = None) -> None:
        """Answer a call that was never authorized (invalid, capped, repeated, or its authorization errored)."""
        if fail:
            text = self.failed(call.name, text)
        self.record(call, outcome, Decision("allow", "not authorized: answered before authorization", "none"), text, 0.0, shown=shown, decided=False)

    def failed(self, name: str, text: str) -> str:
        """Count a failed attempt; withdraw the tool for the turn at the cap."""
        count = self.state.failures.get(name, 0) + 1
        self.state.failures[name] = count
        cap = self.settings.chatops_max_tool_failures
        if count >= cap and name in self.offered and name not in self.state.withdrawn:
            self.state.withdrawn.add(name)
            text += f"\n{name} has now failed {count} times in this turn and is withdrawn for the rest of it."
        return text

    async def deny(self, call: ToolCall, decision: Decision, tool: Tool | None, args: ToolArgs | None = None) -> None:
        """The policy said no: the model hears it is not permitted; the audit log gets the reason and rule."""
        text = f"Not permitted: {self.state.actor.label} may not run {call.name} with these arguments here. It was not run; do not retry it. Tell the user it is not allowed."
        self.record(call, "denied", decision, text, 0.0)
        await self.deps.store.record_audit(
            user_id=self.state.actor.user_id,
            action="denied",
            tool=call.name,
            target=target(tool, call, args),
            status="denied",
            details={"reason": decision.reason, "rule": decision.rule, "arguments": r.redact(call.input), "turn_id": self.state.turn_id},
            conversation_id=self.state.conversation_id,
            tool_use_id=call.id,
        )

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
        self.record(call, outcome, decision, text, 0.0)
        await self.deps.store.record_audit(
            user_id=self.state.actor.user_id,
            action=action,
            tool=call.name,
            target=target(tool, call),
            status=status,
            details=details | {"turn_id": self.state.turn_id},
            conversation_id=self.state.conversation_id,
            tool_use_id=call.id,
        )


def target(tool: Tool | None, call: ToolCall, args: ToolArgs | None = None) -> str | None:
    """What a call touches, for the audit log: its tickets and projects, else the raw `key` or `project`."""
    if tool is not None and args is not None:
        keys, projects = tool.targets(args)
        return ",".join(keys + projects) or None
    value = call.input.get("key") or call.input.get("project")
    return str(value) if value else None
