"""The state of one turn: what the model has seen, what ran, the counters behind the caps.

A paused turn is stored as JSON in the approval row (`to_json` / `from_json`), so `resume()` can continue it in
another process after a restart.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.agent.types import TraceEntry
from bot.tools.base import Actor
from integrations.llm.base import Message, ToolCall, ToolResult, Usage

STATE_VERSION = 1


@dataclass(frozen=True)
class ThreadRef:
    """Where a conversation lives; the conversation key."""

    team_id: str
    channel_id: str
    thread_ts: str


@dataclass
class Paused:
    """Where a response stopped for approval: the call waiting, and the calls after it."""

    call: ToolCall
    remaining: list[ToolCall]
    deferred: list[str] = field(default_factory=list)
    """Ids in `remaining` already authorized as `confirm` (they pause again without a second authorize)."""
    reason: str = ""


@dataclass
class TurnState:
    """Everything a turn carries between steps (and across a pause)."""

    turn_id: str
    conversation_id: str
    actor: Actor
    thread: ThreadRef
    history: list[Message]
    """Earlier turns, as the model sees them (already stored; never written again)."""
    new: list[Message] = field(default_factory=list)
    """This turn's messages (stored when the turn ends or pauses)."""
    stored_new: int = 0
    """How many of `new` are already stored (a resumed turn stores only the rest)."""
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    trace: list[TraceEntry] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """tool_calls rows not written yet."""
    failures: dict[str, int] = field(default_factory=dict)
    withdrawn: set[str] = field(default_factory=set)
    done_calls: dict[str, str] = field(default_factory=dict)
    """Call key (tool + arguments) → the earlier result, for repeat detection."""
    calls_made: int = 0
    results: dict[str, ToolResult] = field(default_factory=dict)
    """Results of the current response's calls so far (sent together, in tool_use order)."""
    truncations: int = 0
    context_retries: int = 0
    direct: bool = False
    """A slash-command call without the model."""
    max_tokens: int = 0
    paused: Paused | None = None
    stop_reason: str | None = None
    model: str = ""
    """The model of the last response (as the API named it), for the turn's result."""
    error: str | None = None
    """What went wrong, for the turn row (never shown to the user)."""
    started: float = field(default_factory=time.monotonic)

    def view(self) -> list[Message]:
        """What the model sees: history then this turn."""
        from bot.agent.history import merge_roles

        return merge_roles(self.history + self.new)

    def to_json(self) -> dict[str, Any]:
        """Serialisable form (for the approval row's `state`)."""
        return {
            "version": STATE_VERSION,
            "turn_id": self.turn_id,
            "conversation_id": self.conversation_id,
            "actor": asdict(self.actor),
            "thread": asdict(self.thread),
            "history": [m.model_dump(mode="json") for m in self.history],
            "new": [m.model_dump(mode="json") for m in self.new],
            "stored_new": self.stored_new,
            "steps": self.steps,
            "usage": self.usage.model_dump(),
            "trace": [asdict(t) for t in self.trace],
            "failures": self.failures,
            "withdrawn": sorted(self.withdrawn),
            "done_calls": self.done_calls,
            "calls_made": self.calls_made,
            "results": {k: v.model_dump(mode="json") for k, v in self.results.items()},
            "truncations": self.truncations,
            "context_retries": self.context_retries,
            "direct": self.direct,
            "max_tokens": self.max_tokens,
            "model": self.model,
            "paused": None
            if self.paused is None
            else {
                "call": self.paused.call.model_dump(mode="json"),
                "remaining": [c.model_dump(mode="json") for c in self.paused.remaining],
                "deferred": self.paused.deferred,
                "reason": self.paused.reason,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnState:
        """Rebuild a paused turn."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported turn state version {data.get('version')!r}")
        paused = data.get("paused")
        return cls(
            turn_id=data["turn_id"],
            conversation_id=data["conversation_id"],
            actor=Actor(**data["actor"]),
            thread=ThreadRef(**data["thread"]),
            history=[Message.model_validate(m) for m in data["history"]],
            new=[Message.model_validate(m) for m in data["new"]],
            stored_new=data["stored_new"],
            steps=data["steps"],
            usage=Usage(**data["usage"]),
            trace=[TraceEntry(**t) for t in data["trace"]],
            failures=dict(data["failures"]),
            withdrawn=set(data["withdrawn"]),
            done_calls=dict(data["done_calls"]),
            calls_made=data["calls_made"],
            results={k: ToolResult.model_validate(v) for k, v in data["results"].items()},
            truncations=data["truncations"],
            context_retries=data["context_retries"],
            direct=data["direct"],
            max_tokens=data["max_tokens"],
            model=str(data.get("model") or ""),
            paused=None
            if paused is None
            else Paused(
                call=ToolCall.model_validate(paused["call"]),
                remaining=[ToolCall.model_validate(c) for c in paused["remaining"]],
                deferred=list(paused["deferred"]),
                reason=paused["reason"],
            ),
        )

    def elapsed_ms(self) -> float:
        """Milliseconds since this process started (or resumed) the turn."""
        return (time.monotonic() - self.started) * 1000
