"""What a turn produces: progress events while it runs, a trace of every call, and a result.

The Slack surface and the terminal shell consume these; they never look inside the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from integrations.llm.base import Usage

CallOutcome = Literal["ok", "error", "invalid", "denied", "capped", "timeout", "pending", "cancelled"]

DeclineReason = Literal["cancelled", "expired", "not_permitted"]
"""Why an approved-or-not call was not performed: the user cancelled it, nobody answered in time, or the policy
no longer permits it (checked again when it was about to run)."""


@dataclass
class TraceEntry:
    """One tool call as the trace shows it (arguments already redacted of secrets)."""

    tool_use_id: str
    tool: str
    arguments: dict[str, Any]
    outcome: CallOutcome
    decision: str = "allow"
    decision_reason: str = ""
    summary: str = ""
    """A short result summary or the error text."""
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the call ran and succeeded."""
        return self.outcome == "ok"


@dataclass(frozen=True)
class ProgressEvent:
    """Emitted while a turn runs: `thinking` (a model step starts), `text` (a delta of its text), `interim` (the step
    stopped to call tools: its text, in `text`, was a note on the way, not the answer), `tool_started`,
    `tool_finished`, `tool_failed`."""

    kind: Literal["thinking", "tool_started", "tool_finished", "tool_failed", "text", "interim"]
    tool_use_id: str = ""
    tool: str = ""
    title: str = ""
    detail: str = ""
    text: str = ""


ProgressCallback = Callable[[ProgressEvent], Awaitable[None]]

TurnStatus = Literal["answered", "paused", "failed", "refused", "capped"]


@dataclass
class PendingAction:
    """A write waiting for Approve/Cancel (set when status == 'paused')."""

    approval_id: str
    tool: str
    arguments: dict[str, Any]
    description: str
    """The exact action in human words."""
    requester_id: str
    expires_at_iso: str


@dataclass
class TurnResult:
    """The outcome of one turn: the answer text (never empty), the trace, usage and timing."""

    status: TurnStatus
    text: str
    trace: list[TraceEntry] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    duration_ms: float = 0.0
    steps: int = 0
    turn_id: str = ""
    conversation_id: str = ""
    pending: PendingAction | None = None
    model: str = ""
    """The model that wrote the answer, as the API named it in its last response ("" when no model answered: a
    slash command's direct call, a refusal before the model was asked)."""
