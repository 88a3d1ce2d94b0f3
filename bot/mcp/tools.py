"""An MCP server's listed tool as a bot `Tool`: a model-safe name, its JSON Schema checked before every call with
the same field-level feedback as built-in tools, an effect class, and a function that calls the server.

Names are `<server>__<tool>` with characters the model APIs refuse replaced by `_`; a name over 64 characters, a
clash (two tools, or a tool and a built-in, with one name) and a schema that is not valid JSON Schema withhold the
tool, with a log line. The server's description is untrusted text: it is cut to `MAX_DESCRIPTION` characters,
stripped of control characters and labelled with its server; it goes only into the tool's definition.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.errors import ToolError
from bot.tools.base import Effect, Tool, ToolArgs, ToolContext, ToolSource
from integrations.mcp.tools import ToolDef

MODEL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_DESCRIPTION = 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Withheld:
    """A listed tool that is not offered, and why (for logs, doctor and the admin modal)."""

    server: str
    tool: str
    reason: str


def model_name(server: str, tool: str) -> str:
    """`<server>__<tool>` with every character outside letters, digits, `_` and `-` replaced by `_`."""
    return f"{server}__{re.sub(r'[^A-Za-z0-9_-]', '_', tool)}"


def build_tools(
    server: str, defs: Iterable[ToolDef], *, effects: Mapping[str, str], reserved: frozenset[str]
) -> tuple[list[Tool], list[Withheld]]:
    """Tools for one server's listing (`effects`: policy overrides by tool name); clashes and bad schemas withheld."""
    groups: dict[str, list[ToolDef]] = defaultdict(list)
    for d in defs:
        groups[model_name(server, d.name)].append(d)
    tools: list[Tool] = []
    withheld: list[Withheld] = []
    for name, group in sorted(groups.items()):
        if len(group) > 1 or name in reserved:
            others = ", ".join(sorted(d.name for d in group))
            withheld += [Withheld(server, d.name, f"name clash: {name} ({others}{' and a built-in tool' if name in reserved else ''})") for d in group]
            continue
        d = group[0]
        if not MODEL_NAME.match(name):
            withheld.append(Withheld(server, d.name, f"{name} is longer than 64 characters"))
            continue
        try:
            tools.append(make_tool(server, d, name=name, effect=effects.get(d.name)))
        except ValueError as exc:
            withheld.append(Withheld(server, d.name, str(exc)))
    return tools, withheld


def make_tool(server: str, d: ToolDef, *, name: str, effect: str | None = None) -> Tool:
    """One tool; raises ValueError when its input schema is not a valid JSON Schema for an object."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    schema = d.input_schema
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise ValueError("invalid input schema: the arguments must be an object")
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid input schema at {'/'.join(map(str, exc.path)) or '(root)'}: {exc.message[:200]}") from None
    validator = cls(schema)
    kind = Effect(effect) if effect in ("read", "write") else (Effect.READ if d.read_only else Effect.WRITE)
    source = ToolSource(server=server, tool=d.name, fingerprint=d.fingerprint)
    return Tool(
        name=name,
        description=describe(server, d),
        args_model=_args_model(name, validator),
        effect=kind,
        func=_caller(source, write=kind is Effect.WRITE),
        source=source,
        input_schema=schema,
    )


def describe(server: str, d: ToolDef) -> str:
    """The model-facing description: labelled with its server, control characters removed, length capped."""
    text = " ".join(_CONTROL.sub("", d.description or d.title or d.name).split())
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 1] + "…"
    return f"[MCP server {server}, tool {d.name}] {text}"


def _args_model(name: str, validator: Any) -> type[ToolArgs]:
    """An argument model that validates against the JSON Schema and keeps the arguments as given."""

    class McpArgs(ToolArgs):
        model_config = ConfigDict(extra="allow", str_strip_whitespace=False)

        @model_validator(mode="before")
        @classmethod
        def _schema(cls, data: Any) -> Any:
            if not isinstance(data, dict):
                raise ValueError("the arguments must be a JSON object")
            errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])[:10]
            if errors:
                raise ValidationError.from_exception_data(name, [_detail(e) for e in errors])
            return data

    McpArgs.__name__ = McpArgs.__qualname__ = f"McpArgs_{name}"
    return McpArgs


def _detail(error: Any) -> InitErrorDetails:
    loc = tuple(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = re.match(r"'([^']+)'", error.message)
        if missing:
            return InitErrorDetails(type="missing", loc=(*loc, missing.group(1)), input=None)
    if error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        if extra:
            return InitErrorDetails(type="extra_forbidden", loc=(*loc, extra[0]), input=error.instance.get(extra[0]) if isinstance(error.instance, dict) else None)
    return InitErrorDetails(
        type=PydanticCustomError("json_schema", "{expected}", {"expected": _expected(error)}),
        loc=loc,
        input=error.instance,
    )


def _expected(error: Any) -> str:
    v, spec = error.validator, error.validator_value
    words = {
        "type": f"a value of type {spec}",
        "enum": f"one of {spec}",
        "const": f"exactly {spec!r}",
        "minimum": f"a number >= {spec}",
        "maximum": f"a number <= {spec}",
        "exclusiveMinimum": f"a number > {spec}",
        "exclusiveMaximum": f"a number < {spec}",
        "minLength": f"text of at least {spec} characters",
        "maxLength": f"text of at most {spec} characters",
        "pattern": f"text matching {spec}",
        "minItems": f"at least {spec} items",
        "maxItems": f"at most {spec} items",
        "format": f"a value in {spec} format",
    }
    return words.get(v, error.message[:160])


def _caller(source: ToolSource, *, write: bool) -> Any:
    async def call(ctx: ToolContext, args: ToolArgs) -> str:
        from integrations.mcp.client import McpCallError  # loaded by the hub that built this tool

        hub = ctx.deps.mcp
        if hub is None:
            raise ToolError(f"MCP server {source.server} is not configured in this process.")
        arguments = dict(args.model_extra or {})
        try:
            result = await hub.call(source, arguments)
        except McpCallError as exc:
            if write and exc.kind == "timeout":
                raise TimeoutError(str(exc)) from None  # the executor's rule: outcome unknown, never sent again this turn
            unknown = write and exc.kind == "unavailable"
            raise ToolError(f"{exc}{' The change may or may not have been applied; check before trying again.' if unknown else ''}") from None
        if result.is_error:
            raise ToolError(f"{source.server} reported an error from {source.tool}: {result.text}")
        return result.text

    return call
