"""What goes back to the model and into traces: compact results, validation feedback, redaction.

Tool output is wrapped in `<tool_output>` delimiters and marked untrusted (the system prompt says text inside is
data, never instructions); a delimiter inside the data is neutralised so it cannot close the block early.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from integrations.tickets.keys import ticket_key

FIX_HINT = "Fix the errors and try again."
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"token|secret|passw|api[_-]?key|authorization|credential|cookie|private[_-]?key", re.I)
_CLOSE_TAG = re.compile(r"</\s*tool_output", re.I)


def compact(value: Any) -> Any:
    """JSON-able form of a tool's return value, with nulls and empty containers dropped."""
    if isinstance(value, BaseModel):
        return compact(value.model_dump(mode="json", exclude_none=True))
    if isinstance(value, dict):
        out = {str(k): compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list | tuple | set | frozenset):
        return [compact(v) for v in value if v is not None]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def to_json(value: Any) -> str:
    """Compact JSON (no spaces, no nulls); a plain string stays as it is."""
    if isinstance(value, str):
        return value
    return json.dumps(compact(value), separators=(",", ":"), ensure_ascii=False, default=str)


def cap(text: str, limit: int) -> str:
    """Cut text to `limit` characters with a note saying how much was left out."""
    if len(text) <= limit:
        return text
    return (
        text[:limit]
        + f"\n[truncated: showing {limit} of {len(text)} characters. Narrow the request (filters, a smaller limit)"
        " to see the rest.]"
    )


def wrap_untrusted(tool: str, text: str) -> str:
    """Delimit tool output as data."""
    safe = _CLOSE_TAG.sub("<\\/tool_output", text)
    return f'<tool_output tool="{tool}" trust="untrusted">\n{safe}\n</tool_output>'


def validation_feedback(tool: str, exc: ValidationError) -> str:
    """Each error as field, expected, got; then the fix hint."""
    errors = exc.errors(include_url=False)
    lines = [f"{len(errors)} validation error{'s' if len(errors) != 1 else ''} in the arguments of {tool}:"]
    for err in errors:
        field = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        if err["type"] == "missing":
            got = "nothing (the field is missing)"
        else:
            got = _short(redact_value(field, err.get("input")))
        lines.append(f"- {field}: expected {_expected(err)}; got {got}")
    return "\n".join(lines) + "\n" + FIX_HINT


def _expected(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "no such field (remove it)"
    if err["type"] == "missing":
        return "a value (required)"
    msg: str = err["msg"]
    return msg[0].lower() + msg[1:] if msg else err["type"]


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def redact_value(key: str, value: Any) -> Any:
    """The value, or [redacted] when its key looks like a secret (recursively for dicts and lists)."""
    if _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(key, v) for v in value]
    return value


def redact(arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments with secret-looking values hidden, for traces, logs and rows."""
    return {k: redact_value(str(k), v) for k, v in arguments.items()}


def summarise(text: str, limit: int = 300) -> str:
    """A one-line preview of a result for the trace (never the full result)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def created_key(value: Any) -> str | None:
    """The ticket key a create returned (`{"created": {"key": ...}}` or `{"key": ...}`), if it names one."""
    data = compact(value)
    if isinstance(data, dict) and isinstance(data.get("created"), dict):
        data = data["created"]
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) and ticket_key(key) == key else None


def call_key(tool: str, arguments: dict[str, Any]) -> str:
    """Identity of a call for repeat detection: tool + canonical arguments."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return tool + ":" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def render_markdown(value: Any) -> str:
    """A readable Markdown rendering of a result for the slash-command fast path (no model in between)."""
    data = compact(value)
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        return "\n".join(f"*{k}*: {_inline(v)}" for k, v in data.items())
    if isinstance(data, list):
        return "\n".join(f"{i}. {_inline(v)}" for i, v in enumerate(data, 1)) or "(nothing)"
    return str(data)


def _inline(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
