"""What the bot keeps of a server's tool listing (`ToolDef`) and of a call's answer (`CallOutcome`).

A `ToolDef` is plain data with a fingerprint over everything the model or the policy reads (name, title,
description, input and output schema, annotations): when any of them changes, the fingerprint changes.
A `CallToolResult` becomes text: `structuredContent` as JSON when present, else the text blocks; images, audio
and resources are described in one line each, never dumped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import mcp_types as types


@dataclass(frozen=True)
class ToolDef:
    """One tool as the server listed it (wire names in `annotations`, e.g. `readOnlyHint`)."""

    name: str
    description: str
    input_schema: dict[str, Any]
    title: str | None = None
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None

    @property
    def read_only(self) -> bool:
        """True only when the server says `readOnlyHint: true` (anything else counts as a write)."""
        return bool(self.annotations and self.annotations.get("readOnlyHint") is True)

    def definition(self) -> dict[str, Any]:
        """The fingerprinted fields, as JSON."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
            "annotations": self.annotations,
        }

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of `definition()` (first 32 hex digits)."""
        canonical = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def tool_def(tool: types.Tool) -> ToolDef:
    """A listed `Tool` as plain data."""
    annotations = tool.annotations.model_dump(by_alias=True, mode="json", exclude_none=True) if tool.annotations else None
    return ToolDef(
        name=tool.name,
        title=tool.title,
        description=tool.description or "",
        input_schema=dict(tool.input_schema or {}),
        output_schema=dict(tool.output_schema) if tool.output_schema else None,
        annotations=annotations or None,
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Which fingerprinted fields differ between two `definition()`s, in words."""
    labels = {
        "title": "title",
        "description": "description",
        "inputSchema": "input schema",
        "outputSchema": "output schema",
        "annotations": "annotations",
    }
    return [label for key, label in labels.items() if before.get(key) != after.get(key)]


@dataclass(frozen=True)
class CallOutcome:
    """A call's answer as text for the model; `is_error` when the server said the tool failed."""

    text: str
    is_error: bool = False
    structured: bool = False


def outcome(result: types.CallToolResult, *, limit: int) -> CallOutcome:
    """Map a result to text, cut at `limit` characters (the caller caps it again with a note)."""
    if result.structured_content is not None and not result.is_error:
        text = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False, default=str)
        return CallOutcome(text=text[:limit], structured=True)
    parts: list[str] = []
    size = 0
    for block in result.content:
        part = _describe(block)
        parts.append(part)
        size += len(part)
        if size > limit:
            break
    text = "\n".join(parts)[:limit]
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False, default=str)[:limit]
    return CallOutcome(text=text or ("(the tool reported an error without a message)" if result.is_error else "(empty result)"), is_error=result.is_error)


def _describe(block: Any) -> str:
    import mcp_types as types  # the SDK's types: loaded by the client that received the block

    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent):
        return f"[image: {block.mime_type}, {len(block.data) * 3 // 4} bytes, not shown]"
    if isinstance(block, types.AudioContent):
        return f"[audio: {block.mime_type}, {len(block.data) * 3 // 4} bytes, not shown]"
    if isinstance(block, types.ResourceLink):
        return f"[resource link: {block.name} {block.uri}{f' ({block.mime_type})' if block.mime_type else ''}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return f"[resource {resource.uri}]\n{text}"
        return f"[resource {resource.uri}: {resource.mime_type or 'binary'}, not shown]"
    return f"[{getattr(block, 'type', type(block).__name__)} content, not shown]"
