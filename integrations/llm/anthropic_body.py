"""The first-party request body as we encode it: the bytes `messages.create` would send, with the parts that are
the same on every call (the system block and the tool catalogue) encoded once.

`AsyncAnthropic.messages.create` copies the whole request into plain data (a walk over every dict and list, the
~10 KB tool catalogue included) and JSON-encodes it again on every call: a third of the SDK's CPU in a one-step
turn. `AnthropicLLM` therefore sends the first-party client the body built here through the SDK's public
`client.post(path, content=...)`: the same HTTP client, headers, authentication, timeout and error mapping, and,
byte for byte, the body `messages.create(**build_params(...))` sends (the SDK's key order and JSON settings; a
test compares the two through the fake API). Bedrock and Vertex reshape the body in their clients, so they keep
`messages.create`.

A cached fragment is keyed by what it is made of: the system prompt's text, and the identity of the `ToolSpec`s
in order (the cache holds them, so an id is never reused while its entry lives). A `ToolSpec` is never changed once
offered: a tool that changes (an MCP server's new schema, a policy that offers another set) comes as another
`ToolSpec` (`Agent._spec` builds one per tool object), hence another key.

`messages.create` also warns about a deprecated model, or manual thinking on a model that discourages it:
`sdk_warnings` gives the same warnings, from the SDK's own tables.
"""

from __future__ import annotations

import json
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from anthropic.resources.messages.messages import DEPRECATED_MODELS, MODELS_TO_WARN_WITH_THINKING_ENABLED

from integrations.llm.base import ToolSpec

ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
"""The SDK's JSON settings (`anthropic._utils._json`: compact, UTF-8 as is, no NaN)."""
BODY_ORDER = (
    "max_tokens", "messages", "model", "cache_control", "container", "diagnostics", "inference_geo", "metadata",
    "output_config", "service_tier", "speed", "stop_sequences", "stream", "system", "thinking", "tool_choice", "tools",
)  # fmt: skip
"""`messages.create`'s body fields in the order the SDK writes them (anthropic 2.10.0)."""
REQUEST_OPTIONS = frozenset({"extra_headers"})
"""`build_params` keys that are not body fields."""
CACHED_FRAGMENTS = 32
"""Distinct system prompts and tool sets kept encoded (a role's tool set, an MCP change, a model switch)."""


class BodyEncoder:
    """Encodes `build_params` output as the request body, reusing the encoded system block and tool list."""

    def __init__(self, size: int = CACHED_FRAGMENTS) -> None:
        self.size = size
        self._system: OrderedDict[str, str] = OrderedDict()
        self._tools: OrderedDict[tuple[int, ...], tuple[tuple[ToolSpec, ...], str]] = OrderedDict()
        self.misses = 0
        """Fragments encoded so far (a test's view of the cache)."""

    def encode(self, params: dict[str, Any], *, system: str, tools: Sequence[ToolSpec], stream: bool) -> bytes:
        """The JSON body for `params` (from `build_params(system=system, tools=tools, ...)`), with `"stream":true`
        when streaming (as `messages.create(..., stream=True)` sends it; without, the SDK omits the field)."""
        unknown = params.keys() - REQUEST_OPTIONS - set(BODY_ORDER)
        if unknown:  # a new field would be silently dropped: place it in BODY_ORDER first
            raise ValueError(f"request fields this encoder does not place: {sorted(unknown)}")
        parts: list[str] = []
        for key in BODY_ORDER:
            if key == "stream":
                if stream:
                    parts.append('"stream":true')
                continue
            if key not in params:
                continue
            value = params[key]
            if key == "system":
                fragment = self._system_fragment(system, value)
            elif key == "tools":
                fragment = self._tools_fragment(tools, value)
            else:
                fragment = ENCODER.encode(value)
            parts.append(f'"{key}":{fragment}')
        return ("{" + ",".join(parts) + "}").encode()

    def _system_fragment(self, system: str, value: Any) -> str:
        fragment = self._system.get(system)
        if fragment is not None:
            self._system.move_to_end(system)
            return fragment
        fragment = ENCODER.encode(value)
        self._remember(self._system, system, fragment)
        return fragment

    def _tools_fragment(self, tools: Sequence[ToolSpec], value: Any) -> str:
        key = tuple(map(id, tools))
        entry = self._tools.get(key)
        if entry is not None and all(a is b for a, b in zip(entry[0], tools, strict=True)):
            self._tools.move_to_end(key)
            return entry[1]
        fragment = ENCODER.encode(value)
        self._remember(self._tools, key, (tuple(tools), fragment))
        return fragment

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        self.misses += 1
        cache[key] = value
        if len(cache) > self.size:
            cache.popitem(last=False)


def sdk_warnings(params: dict[str, Any], *, stacklevel: int = 3) -> None:
    """The warnings `messages.create(**params)` gives (worded as the SDK words them)."""
    model = params["model"]
    if model in DEPRECATED_MODELS:
        warnings.warn(
            f"The model '{model}' is deprecated and will reach end-of-life on {DEPRECATED_MODELS[model]}.\nPlease migrate to a newer model. Visit https://docs.anthropic.com/en/docs/resources/model-deprecations for more information.",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
    thinking = params.get("thinking")
    if model in MODELS_TO_WARN_WITH_THINKING_ENABLED and thinking and thinking["type"] == "enabled":
        warnings.warn(
            f"Using Claude with {model} and 'thinking.type=enabled' is deprecated. Use 'thinking.type=adaptive' instead which results in better model performance in our testing: https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking",
            UserWarning,
            stacklevel=stacklevel,
        )
