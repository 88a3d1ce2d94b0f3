"""What a failed Jira call means: the bot's error tree (`integrations.errors`) from a `JIRAError` or a
`requests` failure, with Jira's own explanation (errorMessages / errors) kept as the detail.

A failed login is recognised before any status meaning (401, or a failed login's header on any status); a 403
otherwise means the bot's account lacks a permission. Both are operator problems (`Misconfigured`): the asker is
told the assistant is misconfigured, the admins get a DM, `chatops doctor` words them the same way.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Mapping
from typing import Any

import requests
from jira import JIRAError

from integrations.errors import (
    BackendCredentialsRejected,
    BackendError,
    BackendPermissionMissing,
    Conflict,
    InvalidArguments,
    NotFound,
    RateLimited,
    ToolError,
    Unavailable,
)

log = logging.getLogger("chatops.jira")

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
FAILED_LOGIN_REASONS = frozenset({"AUTHENTICATED_FAILED", "AUTHENTICATION_DENIED"})
"""`X-Seraph-LoginReason` values of a failed login. Jira Cloud treats a request whose credentials fail as
anonymous: an issue then answers 404 "does not exist or you do not have permission" with this header set."""


def status_of(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, JIRAError) else None


def is_connection_failure(exc: BaseException) -> bool:
    # A refused or reset connection is worth a retry; a read timeout is not (Jira is slow: answer now).
    return isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout)


def _never_sent(exc: BaseException) -> bool:
    """True when the request provably did not reach Jira (so a write was not applied)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = repr(exc.args[0]) if exc.args else ""
        return "NewConnectionError" in reason or "NameResolutionError" in reason
    return False


def retry_after_seconds(exc: BaseException) -> float | None:
    """The Retry-After of a JIRAError's response in seconds (delta or HTTP date), if any."""
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def jira_error_details(exc: JIRAError) -> tuple[list[str], dict[str, str]]:
    """(errorMessages, errors by field) from a Jira error body; empty when the body is not Jira's."""
    try:
        body = exc.response.json() if exc.response is not None else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        return [], {}
    messages = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    return messages, {str(k): str(v) for k, v in (errors or {}).items()}


def _summary(exc: JIRAError) -> str:
    messages, errors = jira_error_details(exc)
    parts = messages + [f"field {field!r}: {msg}" for field, msg in errors.items()]
    text = "; ".join(parts) or (exc.text or "").strip()
    if text.lstrip().startswith("<"):
        return "no details (the answer was an HTML page, e.g. from a proxy)"  # never feed markup to the model
    return text[:500]


def _bad_request(exc: JIRAError, *, what: str, detail: str, sent: Mapping[str, Any]) -> ToolError:
    _, errors = jira_error_details(exc)
    if "project" in errors and "permission" in errors["project"].lower():
        return permission_missing(what, detail=f"HTTP 400: {errors['project']}")
    if "project" in errors and sent.get("project"):
        # Jira answers an unknown (or invisible) project on create with a 400 on the project field.
        return NotFound(
            f"No project {sent['project']!r} in Jira (or the bot cannot see it): {errors['project']}"
        )
    for field in ("assignee", "reporter"):
        if "not exist" in errors.get(field, "") and sent.get(field):
            return NotFound(f"No Jira user with id {sent[field]!r}: use find_people to get a person's id.")
    shown = [f"{field}={sent[field]!r}" for field in errors if sent.get(field) not in (None, [], ())]
    hint = f" (we sent {', '.join(shown)})" if shown else ""
    if any("not on the appropriate screen" in msg or "cannot be set" in msg for msg in errors.values()):
        hint += " Leave that field out, or ask a Jira admin to add it to the screen."
    return InvalidArguments(f"Jira refused to {what}: {detail}.{hint}")


def credentials_rejected(credentials: str, *, detail: str = "") -> BackendCredentialsRejected:
    """The one wording for Jira refusing the bot's credential (the asker, the admins' DM and `chatops doctor`)."""
    return BackendCredentialsRejected(
        f"Jira rejected the bot's credentials: check {credentials}", problem="jira.credentials", detail=detail
    )


def permission_missing(what: str, *, detail: str = "") -> BackendPermissionMissing:
    """The one wording for Jira refusing the bot's account a permission it needs for `what` (the asker, the admins'
    DM and `chatops doctor`): the credential works, the account's project permissions do not allow the call."""
    return BackendPermissionMissing(
        f"the bot's Jira account lacks permission to {what}: check its project permissions in Jira",
        problem=f"jira.permission:{what}",
        detail=detail,
    )


def failed_login(exc: JIRAError) -> str | None:
    """The reason of a failed login on this error's response, if any: a failed `X-Seraph-LoginReason`, or Data
    Center's `X-Authentication-Denied-Reason` (e.g. `CAPTCHA_CHALLENGE; login-url=...`, after repeated failures)."""
    headers = exc.response.headers if exc.response is not None else {}
    reason = str(headers.get("X-Seraph-LoginReason") or "").strip().upper()
    if reason in FAILED_LOGIN_REASONS:
        return reason
    denied = str(headers.get("X-Authentication-Denied-Reason") or "").split(";")[0].strip().upper()
    return denied or None


def map_error(
    exc: BaseException,
    *,
    what: str,
    subject: str | None = None,
    write: bool,
    sent: Mapping[str, Any] | None = None,
    credentials: str = "JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)",
) -> ToolError:
    """Map a jira/requests failure (or a malformed response) to the bot's error tree.

    A failed login is recognised before any status meaning: 401, or any answer carrying a failed login's reason
    (Cloud's 404 for a bad token, the 403 of a login that needs a CAPTCHA), is `BackendCredentialsRejected`, never
    "not found" or "not permitted". Any other 403 means the credential works but the bot's Jira account lacks a
    permission for this call: `BackendPermissionMissing`, an operator's fix (the asker is told the assistant is
    misconfigured, the admins get a DM), never "you may not"."""
    if isinstance(exc, ToolError):
        return exc
    maybe = (
        " The change may or may not have been applied: check the ticket before trying again."
        if write and not _never_sent(exc)
        else (" Nothing was changed." if write else "")
    )
    if isinstance(exc, JIRAError):
        status = exc.status_code
        detail = _summary(exc)
        if status is None:
            return BackendError(f"Jira could not {what}: {detail}")
        login = failed_login(exc)
        if status == 401 or login is not None:
            return credentials_rejected(credentials, detail=f"HTTP {status}" + (f", {login}" if login else ""))
        if status == 400:
            return _bad_request(exc, what=what, detail=detail, sent=sent or {})
        if status == 403:
            return permission_missing(what, detail=f"HTTP 403: {detail}")
        if status == 404:
            name = subject or "the item"
            return NotFound(
                f"{name} was not found in Jira (it does not exist, was deleted, or is hidden): {detail}"
            )
        if status in (409, 413, 422):
            return Conflict(f"Jira could not {what} ({status}): {detail}")
        if status == 429:
            wait = retry_after_seconds(exc)
            when = f" Try again in {wait:.0f} s." if wait is not None else " Try again shortly."
            applied = " Nothing was changed." if write else ""
            return RateLimited(f"Jira is rate limiting the bot.{applied}{when}", retry_after=wait)
        if status == 410:
            return Unavailable(f"Jira no longer offers the API used to {what} (410): {detail}")
        if status >= 500:
            return Unavailable(f"Jira failed to {what} ({status}).{maybe}")
        return BackendError(f"Jira could not {what} ({status}): {detail}")
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError | IndexError):
        # JSON that does not parse (requests' JSONDecodeError is a ValueError), or parses to the wrong shape.
        return Unavailable(f"Jira sent a response we could not read while trying to {what}.{maybe}")
    if isinstance(exc, requests.Timeout):
        return Unavailable(f"Jira did not answer in time while trying to {what}.{maybe}")
    if isinstance(exc, requests.ConnectionError):
        return Unavailable(f"Cannot reach Jira to {what}.{maybe}")
    if isinstance(exc, requests.RequestException):
        return Unavailable(f"Jira request failed while trying to {what}.{maybe}")
    log.exception("unexpected jira failure", exc_info=exc)
    return Unavailable(f"Jira failed unexpectedly while trying to {what}.{maybe}")
