"""The model provider interface: provider-neutral messages, tool specs and responses.

The agent loop speaks only these types. `integrations/llm/anthropic.py` maps them to the Messages API;
`integrations/llm/bedrock.py`, `vertex.py` reuse it on the cloud clients, `openai_compat.py` maps them to Chat
Completions; `integrations/llm/scripted.py` is an in-memory fake for unit tests.
Messages serialise to JSON (`model_dump(mode="json")`) so conversations persist in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class TextBlock(BaseModel):
    """Plain text from the user or the model."""

    type: Literal["text"] = "text"
    text: str


class ToolCall(BaseModel):
    """The model asks for a tool. `input` is what the model sent; `input_error` is set when it was not a
    JSON object (malformed JSON in a stream, a string, ...): such a call is never executed."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    input_error: str | None = None


class ToolResult(BaseModel):
    """Our answer to one ToolCall; every call id gets exactly one."""

    type: Literal["tool_result"] = "tool_result"
    tool_call_id: str
    content: str
    is_error: bool = False


class NativeBlock(BaseModel):
    """A provider block we do not interpret, kept exactly as received and sent back unchanged, in place:
    Anthropic `thinking` / `redacted_thinking` (signed: any edit is a 400), server-tool blocks
    (`server_tool_use`, `web_search_tool_result`, ...). Only the provider that produced it ever sees it again."""

    type: Literal["native"] = "native"
    provider: str
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        """The provider's block type (`thinking`, `redacted_thinking`, `server_tool_use`, ...)."""
        return str(self.data.get("type", ""))

    @property
    def is_thinking(self) -> bool:
        """A reasoning block (never shown to users)."""
        return self.kind in ("thinking", "redacted_thinking")


Block = Annotated[TextBlock | ToolCall | ToolResult | NativeBlock, Field(discriminator="type")]


class Message(BaseModel):
    """One message of a conversation."""

    model_config = ConfigDict(frozen=False)

    role: Literal["user", "assistant"]
    content: list[Block]

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls in this message, in order."""
        return [b for b in self.content if isinstance(b, ToolCall)]

    @property
    def text(self) -> str:
        """The text blocks joined."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))


class ToolSpec(BaseModel):
    """A tool as offered to the model."""

    name: str
    description: str
    input_schema: dict[str, Any]


class ToolChoice(BaseModel):
    """`auto` (default), `any` (some tool), or `tool` (the named one)."""

    type: Literal["auto", "any", "tool", "none"] = "auto"
    name: str | None = None


StopReason = Literal[
    "end_turn", "tool_use", "max_tokens", "pause_turn", "refusal", "stop_sequence", "context_exceeded"
]


class Usage(BaseModel):
    """Token usage of one or more requests."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class ModelResponse(BaseModel):
    """One model reply."""

    message: Message
    stop_reason: StopReason
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    request_id: str | None = None
    refusal_detail: str | None = None


TextCallback = Callable[[str], Awaitable[None]]


class LLM(Protocol):
    """A chat model with tool use."""

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
        """One request. Retries transient failures with bounded backoff, then raises an integrations.errors.ModelError.

        `on_text` receives text deltas as they stream (when given, the adapter streams). `model` names the model
        for this request (the admins' current choice); None uses the client's default from start-up settings.
        """
        ...

    async def aclose(self) -> None: ...
