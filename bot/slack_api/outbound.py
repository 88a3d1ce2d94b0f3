"""The one outbound boundary: every text that leaves for Slack is made inert and stripped of secrets here.

`sanitize(text)` neutralizes broadcasts (`<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>` and bare
`@channel` / `@here` / `@everyone`) and masks secrets by the `SECRET_PATTERNS` table. `sanitize_payload(payload)`
applies it to every user-visible string of a Web API payload (message text, Markdown, text objects, task and
plan chunks, attachments, views, statuses, Work Objects' fields) and leaves machine fields (ids, action ids, values, urls,
private_metadata, input values) untouched.

It is not a convention callers must remember: `bot.slack_api.client.SlackClient` runs every Web API call through
`sanitize_payload`, and the app's `respond` / `ack` are replaced by sanitizing ones (`bot.slack_api.client`), so a
listener cannot post around it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ZWSP = "\u200b"
REDACTED = "[redacted]"

_BROADCAST = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Za-z0-9]+(?:\|@?([^>]*))?>")
_BARE_BROADCAST = re.compile(r"(?<![\w@])@(here|channel|everyone)\b")


@dataclass(frozen=True)
class SecretPattern:
    """One kind of secret: how to find it, and how much of the match to keep (a key name before its value)."""

    name: str
    regex: re.Pattern[str]
    keep: Callable[[re.Match[str]], str] = lambda m: ""


def _keep_group(index: int) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(index) or ""


_KEY_NAMES = r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)"

SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern(
        "private key block",
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)", re.S),
    ),
    SecretPattern("slack token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    SecretPattern("slack app token", re.compile(r"\bxapp-\d-[A-Za-z0-9-]{10,}")),
    SecretPattern("aws access key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b")),
    SecretPattern("github token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    SecretPattern("gitlab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    SecretPattern("anthropic key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{10,}")),
    SecretPattern(
        "openai key",
        re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{20,}"),
    ),
    SecretPattern("atlassian api token", re.compile(r"\bATATT[A-Za-z0-9_=-]{20,}")),
    SecretPattern("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    SecretPattern("bearer token", re.compile(r"\b([Bb]earer\s+)[A-Za-z0-9._~+/=-]{8,}"), _keep_group(1)),
    SecretPattern("basic-auth url", re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@<>|]+:)[^/\s@<>|]+(?=@)"), _keep_group(1)),
    SecretPattern(
        "key = value",
        re.compile(
            rf"(?i)(\b[A-Za-z0-9_.-]*{_KEY_NAMES}[A-Za-z0-9_.-]*[\"']?\s*[:=]\s*[\"']?)(?!\d+\b)(?!\[redacted\])[^\s\"'`,;&<>]{{6,}}"
        ),
        _keep_group(1),
    ),
)
"""The secrets masked in everything posted to Slack; each has a true- and a false-positive test."""


def neutralize_broadcasts(text: str) -> str:
    """Make @here / @channel / @everyone and user-group mentions inert (text from data must not ping people)."""
    text = _BROADCAST.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    text = _SUBTEAM.sub(lambda m: f"@{ZWSP}{m.group(1) or 'group'}", text)
    return _BARE_BROADCAST.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)


def mask_secrets(text: str) -> str:
    """Replace everything `SECRET_PATTERNS` finds with `[redacted]` (keeping a `password:` key before it)."""
    for pattern in SECRET_PATTERNS:
        keep = pattern.keep
        text = pattern.regex.sub(lambda m, keep=keep: f"{keep(m)}{REDACTED}", text)  # type: ignore[misc]
    return text


def sanitize(text: str) -> str:
    """Text as it may leave for Slack: secrets masked, broadcasts inert. Idempotent."""
    if not text:
        return text
    return neutralize_broadcasts(mask_secrets(text))


TEXT_KEYS = frozenset(
    {
        "text",  # messages, text objects, rich text elements, markdown blocks
        "markdown_text",  # chat.*Stream
        "title",  # task / plan chunks, containers, attachments, cards, modal titles (objects recurse)
        "subtitle",
        "details",  # task chunks
        "output",
        "status",  # assistant.threads.setStatus (chunk statuses are fixed words, unaffected)
        "loading_messages",
        "fallback",
        "pretext",
        "footer",
        "author_name",
        "message",  # suggested prompts
        "alt_text",
        "description",
    }
)
"""Keys whose string values people read; every other string (ids, action ids, values, urls, private_metadata,
initial input values) passes untouched."""
JSON_ENCODED_KEYS = frozenset({"blocks", "attachments", "view", "chunks", "unfurls", "prompts", "loading_messages", "metadata"})
"""Keys a form-encoded call may carry as a JSON string."""


_PINGING_ELEMENTS = {"broadcast": "range", "usergroup": "usergroup_id"}
"""Rich text elements that notify many people without any text: shown as inert text instead."""


ENTITY_TEXT_KEYS = TEXT_KEYS | {"value", "label"}
"""Inside a Work Object's `entity_payload` (message metadata, chat.unfurl, entity.presentDetails) people read the
fields' `value`s and custom fields' `label`s too."""


def _walk(value: Any, *, visible: bool, keys: frozenset[str] = TEXT_KEYS) -> Any:
    if isinstance(value, str):
        return sanitize(value) if visible else value
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str) and kind in _PINGING_ELEMENTS:
            name = value.get(_PINGING_ELEMENTS[kind]) if kind == "broadcast" else "group"
            return {"type": "text", "text": f"@{ZWSP}{name}"}
        return {
            k: _walk(v, visible=k in keys, keys=ENTITY_TEXT_KEYS if k == "entity_payload" else keys) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_walk(v, visible=visible, keys=keys) for v in value]
    return value


def sanitize_payload(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a Web API (or response_url / ack) payload with every user-visible string sanitized."""
    if payload is None:
        return None
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key in JSON_ENCODED_KEYS and isinstance(value, str) and value[:1] in "[{":
            try:
                decoded = json.loads(value)
            except ValueError:
                out[key] = value
                continue
            out[key] = json.dumps(_walk(decoded, visible=key in TEXT_KEYS))
        else:
            out[key] = _walk(value, visible=key in TEXT_KEYS)
    return out
