"""What a running turn writes so that another process can end it after a crash: its owner and lease, and the
request (who asked what, where it is shown).

`TurnOrigin` is set by the surface that runs a turn (the Slack listener: the thread, the message that asked and
carries 👀); the agent saves it with the turn. The agent never reads Slack; recovery hands it back to the surface.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.tools.base import Actor
    from integrations.llm.base import ToolChoice

MAX_SAVED_CONTEXT = 20_000
"""Characters of a turn's Slack context saved for a re-run (longer context is not re-run, only ended)."""


@dataclass(frozen=True)
class TurnOrigin:
    """Where a turn is shown: the surface's own facts, saved with the turn and handed back to it by recovery."""

    surface: str
    channel: str
    thread_ts: str
    message_ts: str | None = None
    """The message that asked (it carries 👀 while the turn runs)."""


current_origin: contextvars.ContextVar[TurnOrigin | None] = contextvars.ContextVar("chatops_turn_origin", default=None)
"""Set by the surface around `run_turn` / `run_tool` (contextvars follow the await chain, not other tasks)."""


@dataclass
class DeliveryClaim:
    """A delivery's dedupe keys (bot/storage/events.py), claimed in the transaction that starts its turn."""

    keys: tuple[str, ...]
    won: bool | None = None
    """True once claimed, False when another delivery had it; None while no turn started (the surface then claims
    it on its own before showing anything)."""


pending_claim: contextvars.ContextVar[DeliveryClaim | None] = contextvars.ContextVar("chatops_pending_claim", default=None)
"""Set by the surface around `run_turn` / `run_tool`: the first turn started under it claims the delivery with it."""


def turn_request(
    actor: Actor,
    *,
    text: str | None = None,
    context: str | None = None,
    tool_choice: ToolChoice | None = None,
    tool_name: str | None = None,
    arguments: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `request` saved on a turn row: enough to tell the user, and to re-run a question that only read."""
    origin = current_origin.get()
    request: dict[str, Any] = {"actor": _flat(actor), "origin": _flat(origin) if origin is not None else None}
    if tool_name is not None:
        request |= {"kind": "tool", "tool": tool_name, "arguments": arguments or {}}
    else:
        request |= {"kind": "turn", "text": text or "", "tool_choice": tool_choice.model_dump() if tool_choice else None}
        if context and len(context) > MAX_SAVED_CONTEXT:
            request["context_too_long"] = True
        elif context:
            request["context"] = context
    return request


def _flat(value: Actor | TurnOrigin) -> dict[str, Any]:
    """`dataclasses.asdict` for a dataclass of plain values, without its recursive deep copy (once per turn)."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


def origin_of(request: dict[str, Any]) -> TurnOrigin | None:
    """The saved origin of a turn (None when it had none or it cannot be read)."""
    raw = request.get("origin")
    if not isinstance(raw, dict):
        return None
    try:
        return TurnOrigin(**raw)
    except TypeError:
        return None
