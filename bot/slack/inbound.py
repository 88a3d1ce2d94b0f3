"""The request layer of HTTP mode: what arrives at POST /slack/events is checked before Bolt sees it.

1. **Signature first, on the raw bytes** (`verify`): HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing
   secret, timestamp within five minutes; no decoding happens before it. Unsigned, stale or wrong → 401.
2. **Then the body** (`read_body`): UTF-8 only (any other charset, or bytes that are not UTF-8, is malformed); a
   JSON body must be an object; a form body must have single-valued fields; an interactivity `payload` must be one
   JSON object.
3. **Then the shape** (`bot.slack.payloads.shape_problem`, also run as the app's first middleware so Socket Mode
   gets the same check): what our listeners read must be there with the right types.

A signed request that fails 2 is answered 400; one that fails 3 is answered 200 and ignored (Slack would only
retry it), each logged once with the reason. Nothing here raises: the caller never answers 5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

MAX_CLOCK_SKEW_SECONDS = 300
"""Slack's own limit (slack_sdk's SignatureVerifier): older requests may be replays."""


@dataclass(frozen=True)
class Rejection:
    """Why a request is not handed to Bolt, and the HTTP status to answer with."""

    status: int
    reason: str


def _header(headers: Mapping[str, Any], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.title())
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return value if isinstance(value, str) else ""


def verify(raw: bytes, headers: Mapping[str, Any], secret: str, *, now: float | None = None) -> Rejection | None:
    """None when `raw` carries a valid, fresh Slack signature; else a 401 Rejection (never raises)."""
    timestamp = _header(headers, "x-slack-request-timestamp").strip()
    signature = _header(headers, "x-slack-signature").strip()
    if not secret or not timestamp or not signature:
        return Rejection(401, "unsigned")
    if not timestamp.isascii() or not timestamp.isdigit():
        return Rejection(401, "malformed timestamp")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return Rejection(401, "stale timestamp")
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={digest}", signature):
        return Rejection(401, "bad signature")
    return None


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return "utf-8"


def read_body(raw: bytes, content_type: str) -> tuple[str, dict[str, Any]] | Rejection:
    """(the body as text, its parsed form) for a signed request, or a 400 Rejection naming what is wrong."""
    charset = _charset(content_type)
    if charset not in ("utf-8", "utf8"):
        return Rejection(400, f"unsupported charset {charset[:40]!r}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection(400, "body is not UTF-8")
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or (not media and text.lstrip()[:1] == "{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return Rejection(400, "body is not JSON")
        if not isinstance(parsed, dict):
            return Rejection(400, f"JSON body is a {type(parsed).__name__}, not an object")
        return text, parsed
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except ValueError as exc:
        return Rejection(400, f"form body cannot be read: {str(exc)[:80]}")
    repeated = sorted(k for k, v in fields.items() if len(v) > 1)
    if repeated:
        return Rejection(400, f"form field {repeated[0][:40]!r} given more than once")
    form: dict[str, Any] = {k: v[0] for k, v in fields.items()}
    if "payload" in form:
        try:
            payload = json.loads(form["payload"])
        except ValueError:
            return Rejection(400, "payload is not JSON")
        if not isinstance(payload, dict):
            return Rejection(400, f"payload is a {type(payload).__name__}, not an object")
        return text, payload
    return text, form
