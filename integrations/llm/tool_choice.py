"""A forced tool choice kept on servers that ignore it: `ForcedToolChoice` wraps an `LLM`.

Slash commands force their tool (`/tickets` → `search_tickets`, ...): `tool_choice` `any` or `tool`. OpenAI and
vLLM (≥ 0.8.3) honour it; Ollama's OpenAI-compatible endpoint has no `tool_choice` field and drops it, so the model
may answer in prose instead (shared/notes/providers.md §8). No setting can tell which server is behind
OPENAI_BASE_URL, so the answer decides: a forced request whose response does not call the tool is asked once
more, offering only the forced tool (for `tool`) and saying in the system prompt that it must be called. If the
second answer obeys, it is used; otherwise the first one is (the loop answers with its text, as with any model
that declines). Either way the tokens of both requests are counted. A forced step is not streamed (its text would
have to be taken back): its text is delivered through `on_text` once the step is settled.

Requests that are not forced pass straight through, streamed as asked.
"""

from __future__ import annotations

import logging

from integrations.llm.base import LLM, Message, ModelResponse, TextCallback, ToolCall, ToolChoice, ToolSpec
from integrations.logs import get_logger, log_event

logger = get_logger("llm")
_SETTLED = frozenset({"max_tokens", "context_exceeded", "refusal"})
"""Stop reasons after which asking again cannot help (the response was cut off, too long, or refused)."""


def forced(choice: ToolChoice | None) -> bool:
    """True when the request obliges the model to call a tool."""
    return choice is not None and choice.type in ("any", "tool")


def obeys(response: ModelResponse, choice: ToolChoice) -> bool:
    """True when the response calls the tool `choice` forces (any tool for `any`)."""
    calls = [b for b in response.message.content if isinstance(b, ToolCall)]
    return bool(calls) if choice.type == "any" else any(c.name == choice.name for c in calls)


def instruction(choice: ToolChoice) -> str:
    """What the second request adds to the system prompt."""
    tool = f"the `{choice.name}` tool" if choice.type == "tool" else "one of the tools"
    return f"Answer this message by calling {tool}; do not answer in text first."


class ForcedToolChoice:
    """`inner`, with forced tool choices kept by asking once more (see the module docstring)."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner

    async def complete(
        self,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        tool_choice: ToolChoice | None = None,
        max_tokens: int,
        on_text: TextCallback | None = None,
        user_hash: str | None = None,
        model: str | None = None,
    ) -> ModelResponse:
        """One step; a forced one that the server ignored is asked once more."""
        if tool_choice is None or not forced(tool_choice) or not tools:
            return await self.inner.complete(
                system=system, messages=messages, tools=tools, tool_choice=tool_choice, max_tokens=max_tokens,
                on_text=on_text, user_hash=user_hash, model=model,
            )  # fmt: skip
        first = await self.inner.complete(
            system=system, messages=messages, tools=tools, tool_choice=tool_choice, max_tokens=max_tokens,
            user_hash=user_hash, model=model,
        )  # fmt: skip
        response = first
        if not obeys(first, tool_choice) and first.stop_reason not in _SETTLED:
            log_event(logger, "forced tool choice ignored, asking once more", logging.WARNING, tool=tool_choice.name or "any")
            offered = ([t for t in tools if t.name == tool_choice.name] or tools) if tool_choice.type == "tool" else tools
            second = await self.inner.complete(
                system=f"{system}\n\n{instruction(tool_choice)}", messages=messages, tools=offered, tool_choice=tool_choice,
                max_tokens=max_tokens, user_hash=user_hash, model=model,
            )  # fmt: skip
            response = second if obeys(second, tool_choice) else first
            response = response.model_copy(update={"usage": first.usage + second.usage})
        if on_text is not None and response.message.text:
            await on_text(response.message.text)
        return response

    async def aclose(self) -> None:
        """Close the wrapped client."""
        await self.inner.aclose()
