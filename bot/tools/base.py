"""What a tool is: a typed async function with a pydantic argument model, an effect class and a description.

A tool gets a `ToolContext` (who asks, where, and `ToolServices`: the narrow set of parts a tool may use, not the
whole `Deps`), never globals. Its schema comes from the
argument model; its result is a JSON-able value the loop serialises compactly and caps in size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from bot.slack_api.channel_kinds import SlackChannelKind
from bot.tools.schema import model_facing_schema
from integrations.llm.base import ToolSpec
from integrations.tickets.base import Person
from prompts import load_prompt

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.alerts import AdminAlerts
    from bot.settings import Settings
    from bot.storage.db import Database
    from bot.storage.store import Store
    from integrations.llm.base import LLM
    from integrations.mcp.tools import CallOutcome
    from integrations.tickets.base import TicketBackend


class Effect(StrEnum):
    """What a tool does to the world: reads run concurrently, writes one at a time and may need approval."""

    READ = "read"
    WRITE = "write"


ChannelType = Literal[SlackChannelKind, "shell"]
"""Where a question is asked. `ext_shared`: a Slack Connect channel (other organizations read it). `unknown`: Slack
did not say; the policy scopes it as the most public kind."""


@dataclass(frozen=True)
class Actor:
    """The person asking, as Slack (or the terminal) identified them. Never taken from model arguments."""

    user_id: str
    team_id: str | None = None
    channel_id: str | None = None
    channel_type: ChannelType = "unknown"
    name: str | None = None
    email: str | None = None

    @property
    def label(self) -> str:
        """A human name for attribution."""
        return self.name or self.user_id


class McpCalls(Protocol):
    """What a tool from an MCP server needs of the hub: a call to the server that lists it."""

    async def call(self, source: ToolSource, arguments: dict[str, Any]) -> CallOutcome: ...


class ToolServices(Protocol):
    """The parts of the process a tool may use (`Deps` has them; tools never see the agent, the authorizer or the
    policy). Read-only: a tool never swaps a part."""

    @property
    def settings(self) -> Settings: ...
    @property
    def tickets(self) -> TicketBackend: ...
    @property
    def store(self) -> Store: ...
    @property
    def db(self) -> Database: ...
    @property
    def llm(self) -> LLM | None: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def slack(self) -> AsyncWebClient | None:
        """The Slack Web API client (None in the terminal)."""
    @property
    def alerts(self) -> AdminAlerts: ...
    @property
    def mcp(self) -> McpCalls | None:
        """The MCP servers of CHATOPS_MCP_CONFIG (None without one)."""


@dataclass
class ToolContext:
    """Everything a tool may use. `me` is the asker's person in the ticket backend, when known."""

    actor: Actor
    deps: ToolServices
    conversation_id: str
    thread_ts: str | None = None
    me: Person | None = None
    visible_projects: frozenset[str] | None = None
    """Projects the asker may see in this channel; None means no restriction. Searches are limited to these."""
    call_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class ToolArgs(BaseModel):
    """Base for argument models: unknown fields are an error, so typos reach the model as feedback."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, str_strip_whitespace=True)


ToolFunc = Callable[[ToolContext, Any], Awaitable[Any]]


@dataclass(frozen=True)
class ToolSource:
    """Where a tool from an MCP server comes from: the server, the tool's listed name, and the fingerprint of the
    definition it was built from (the policy compares it with the one an admin approved)."""

    server: str
    tool: str
    fingerprint: str

    @property
    def pattern(self) -> str:
        """The tool's name in the policy: `mcp:<server>:<tool>`."""
        return f"mcp:{self.server}:{self.tool}"


@dataclass(frozen=True)
class Tool:
    """A tool: name, description (when to use it and when not), argument model, effect, implementation."""

    name: str
    description: str
    args_model: type[ToolArgs]
    effect: Effect
    func: ToolFunc
    ticket_key_fields: tuple[str, ...] = ()
    """Argument fields naming existing tickets: authorization checks each one's real project."""
    project_fields: tuple[str, ...] = ()
    """Argument fields naming a project directly (e.g. create's project)."""
    source: ToolSource | None = None
    """Set for tools from MCP servers."""
    input_schema: dict[str, Any] | None = None
    """The JSON Schema offered to the model when it is not the argument model's (MCP tools)."""

    @property
    def policy_name(self) -> str:
        """The name policies grant: the tool name, or `mcp:<server>:<tool>` for an MCP tool."""
        return self.source.pattern if self.source is not None else self.name

    def spec(self) -> ToolSpec:
        """The definition offered to the model."""
        if self.input_schema is not None:
            return ToolSpec(name=self.name, description=self.description, input_schema=self.input_schema)
        schema = model_facing_schema(self.args_model.model_json_schema())
        return ToolSpec(name=self.name, description=self.description, input_schema=schema)

    def targets(self, args: BaseModel) -> tuple[list[str], list[str]]:
        """(ticket keys, project keys) this call touches, read from its validated arguments."""
        keys = [v for f in self.ticket_key_fields if (v := getattr(args, f, None))]
        projects = [v for f in self.project_fields if (v := getattr(args, f, None))]
        return [str(k) for k in keys], [str(p) for p in projects]


def tool(
    *,
    name: str,
    effect: Effect,
    args: type[ToolArgs],
    ticket_key_fields: tuple[str, ...] = (),
    project_fields: tuple[str, ...] = (),
) -> Callable[[ToolFunc], Tool]:
    """Decorator: turn `async def fn(ctx, args)` into a Tool described by `prompts/tools/<name>.md`.

    The description (when to use the tool and when not) is model-facing text, so it lives with the prompts;
    the argument model's attribute docstrings become the schema's field descriptions. A tool without a prompt
    file (a test double, say) is described by its docstring.
    """

    def wrap(func: ToolFunc) -> Tool:
        try:
            text = load_prompt(f"tools/{name}")
        except FileNotFoundError:
            text = func.__doc__ or ""
        description = " ".join(text.split())
        if not description:
            raise ValueError(f"tool {name!r} needs prompts/tools/{name}.md: the description the model reads")
        return Tool(
            name=name,
            description=description,
            args_model=args,
            effect=effect,
            func=func,
            ticket_key_fields=ticket_key_fields,
            project_fields=project_fields,
        )

    return wrap
