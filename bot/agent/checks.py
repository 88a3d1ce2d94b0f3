"""Call checks: what a tool call must pass before it runs, and the one place that asks the Authorizer.

`check_call` answers, without running anything, the calls that may not run: over a cap, an unknown or withdrawn
tool, arguments that cannot be read or do not validate, a repeat of a call already made. `authorize_call` is the
only caller of `Authorizer.authorize` in the code base (tests/unit/test_authorization_source.py keeps it so): the
executor before every call and again when an approved call runs, and the surfaces (a slash command's pre-check,
the approvals' re-check at the click, link unfurls) through `decide_call`. An authorizer that breaks denies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError

from bot.agent import results as r
from bot.agent.types import CallOutcome
from bot.authz import Authorizer, Decision
from bot.errors import ToolError
from bot.logs import get_logger
from bot.tools.base import Actor, Tool, ToolArgs, ToolContext
from integrations.llm.base import ToolCall

if TYPE_CHECKING:
    from bot.agent.state import TurnState
    from bot.services import Services
    from bot.settings import Settings

logger = get_logger("agent.tools")

CONFIRM_DEFERRED = Decision("confirm", "needs confirmation", "deferred")
"""A call authorized as `confirm` before the pause it waited behind: never asked twice."""


@dataclass
class CheckedCall:
    """A call that passed the checks and may be authorized and run."""

    call: ToolCall
    tool: Tool
    args: ToolArgs
    key: str
    deferred: bool = False


class Refusal(NamedTuple):
    """A call answered before authorization: its outcome, the text for the model, and what the trace shows."""

    outcome: CallOutcome
    text: str
    failed: bool = False
    """True when it counts as a failed attempt of the tool."""
    shown: str | None = None
    """The trace's text when it differs from the model's."""


def check_call(
    call: ToolCall,
    index: int,
    *,
    settings: Settings,
    state: TurnState,
    offered: Mapping[str, Tool],
    counted: bool,
    seen: dict[str, str],
) -> CheckedCall | Refusal:
    """Check call number `index` of a response. Counts it against the turn's cap unless `counted` (a call that
    waited behind an approval was counted when the model asked); `seen` maps the call keys of this response so
    far to their call ids."""
    s = settings
    if not counted:
        if index >= s.chatops_max_calls_per_response:
            return Refusal("capped", f"Not run: at most {s.chatops_max_calls_per_response} tool calls are run per response. Ask for fewer at once.")
        if state.calls_made >= s.chatops_max_tool_calls:
            return Refusal("capped", f"Not run: the limit of {s.chatops_max_tool_calls} tool calls in one turn is reached. Answer with what you have.")
        state.calls_made += 1
    tool = offered.get(call.name)
    if tool is None:
        names = ", ".join(sorted(offered)) or "none"
        return Refusal("invalid", f"Unknown tool {call.name!r}. The tools you may call are: {names}.", failed=True)
    if call.name in state.withdrawn:
        return Refusal("capped", (
            f"Not run: {call.name} was withdrawn for the rest of this turn after {s.chatops_max_tool_failures} failed "
            "attempts. Do not call it again; answer with what you have or explain the problem."
        ))
    if call.input_error:
        return Refusal("invalid", f"The arguments of {call.name} could not be read: {call.input_error}. Send the arguments as one JSON object.\n{r.FIX_HINT}", failed=True)
    try:
        args = tool.args_model.model_validate(call.input)
    except ValidationError as exc:
        return Refusal("invalid", r.validation_feedback(call.name, exc), failed=True)
    key = r.call_key(call.name, args.model_dump(mode="json"))
    if key in state.done_calls:
        repeated = f"Not run again: this exact call ({call.name} with the same arguments) was already made in this turn."
        # The model gets the earlier result again; the trace just points at the earlier call.
        return Refusal("capped", f"{repeated} Its earlier result:\n{state.done_calls[key]}", shown=repeated)
    if key in seen:
        return Refusal("capped", f"Not run: it repeats call {seen[key]} of this same response, which was run once.")
    seen[key] = call.id
    return CheckedCall(call=call, tool=tool, args=args, key=key)


async def authorize_call(authorizer: Authorizer, ctx: ToolContext, tool: Tool, args: ToolArgs) -> Decision:
    """Allow, deny or ask for confirmation of one validated call, as `ctx.actor`, under the policy as it is now.

    A ToolError (e.g. the ticket whose project decides does not exist) propagates: the caller answers with it.
    Any other failure of the authorizer is a denial (fail closed), logged for the operators.
    """
    try:
        return await authorizer.authorize(ctx, tool, args)
    except ToolError:
        raise
    except Exception as exc:
        logger.exception("authorizer failed", extra={"fields": {"tool": tool.name}})
        return Decision("deny", f"authorization failed: {type(exc).__name__}", "error")


async def decide_call(
    deps: Services, actor: Actor, tool: Tool, arguments: Mapping[str, Any], *, conversation_id: str, thread_ts: str | None = None
) -> Decision:
    """The decision on a call a surface would run (or show) for `actor`, before or without a turn.

    Raises pydantic's ValidationError for arguments the tool does not accept, and what `authorize_call` raises.
    """
    args = tool.args_model.model_validate(dict(arguments))
    ctx = ToolContext(actor=actor, deps=deps, conversation_id=conversation_id, thread_ts=thread_ts)
    return await authorize_call(deps.authorizer, ctx, tool, args)
