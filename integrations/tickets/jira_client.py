"""The connection to Jira: one `jira.JIRA` client for the bot's credential, and our transport policy.

Policy (jira.md §6-8):
- The package's own retries are off (`max_retries=0`): it retries every method, POST included, with
  blocking sleeps, so a create could be sent twice. Reads are retried here instead, with bounded backoff
  that honours Retry-After, sleeping on the event loop; writes are sent exactly once.
- Every call runs in a worker thread (`asyncio.to_thread`), at most `max_concurrency` at a time, with a
  (connect, read) timeout, so a slow Jira costs one thread and a quick `Unavailable`, never the event loop.
- Errors are mapped here to `bot.errors` (`map_error`); nothing from `jira`/`requests` escapes.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

import requests
from jira import JIRA, JIRAError

from integrations.errors import (
    BackendCredentialsRejected,
    BackendError,
    Conflict,
    InvalidArguments,
    NotFound,
    PermissionDenied,
    RateLimited,
    ToolError,
    Unavailable,
)

T = TypeVar("T")
Deployment = Literal["Cloud", "Server"]
Sleep = Callable[[float], Awaitable[None]]
OnFailure = Callable[[int | None, bool, str], None]
"""Told of every failed Jira call: (HTTP status or None, whether it is retried, reason: rate_limited,
server_error, connection or other). The bot counts them in its metrics."""

log = logging.getLogger("chatops.jira")

_RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
FAILED_LOGIN_REASONS = frozenset({"AUTHENTICATED_FAILED", "AUTHENTICATION_DENIED"})
"""`X-Seraph-LoginReason` values of a failed login. Jira Cloud treats a request whose credentials fail as
anonymous: an issue then answers 404 "does not exist or you do not have permission" with this header set."""


class JiraClient:
    """Runs calls on a lazily built `JIRA` client: reads retried with backoff, writes sent once."""

    def __init__(
        self,
        *,
        url: str,
        email: str | None = None,
        api_token: str | None = None,
        pat: str | None = None,
        timeout_seconds: float = 10.0,
        max_read_retries: int = 3,
        retry_max_seconds: float = 10.0,
        retry_base_seconds: float = 0.5,
        max_concurrency: int = 8,
        sleep: Sleep = asyncio.sleep,
        on_failure: OnFailure | None = None,
    ) -> None:
        if not pat and not (email and api_token):
            raise ValueError("Jira needs JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)")
        self.url = url.rstrip("/")
        self._email = email
        self._api_token = api_token
        self._pat = pat
        self.timeout_seconds = timeout_seconds
        self.max_read_retries = max_read_retries
        self.retry_max_seconds = retry_max_seconds
        self.retry_base_seconds = retry_base_seconds
        self._sleep = sleep
        self._on_failure = on_failure
        self._sem = asyncio.Semaphore(max_concurrency)
        self._lock = threading.Lock()
        self._jira: JIRA | None = None

    @property
    def auth_kind(self) -> Literal["basic", "bearer"]:
        """How the bot authenticates: an API token over Basic auth, or a personal access token."""
        return "bearer" if self._pat else "basic"

    # ---------------------------------------------------------------- the client, built in a thread

    def _client(self) -> JIRA:
        with self._lock:
            if self._jira is None:
                # The constructor calls GET serverInfo (that is how the package learns Cloud vs Server).
                connect = min(5.0, self.timeout_seconds)
                self._jira = JIRA(
                    server=self.url,
                    basic_auth=(self._email, self._api_token) if not self._pat else None,  # type: ignore[arg-type]
                    token_auth=self._pat or None,
                    timeout=(connect, self.timeout_seconds),
                    max_retries=0,
                    get_server_info=True,
                    logging=False,
                    options={"headers": {"User-Agent": "chatops-bot"}},
                )
            return self._jira

    @property
    def credential_settings(self) -> str:
        """The settings that hold the bot's Jira credential, for messages that say what to fix."""
        return "JIRA_PAT" if self._pat else "JIRA_EMAIL and JIRA_API_TOKEN"

    @property
    def deployment(self) -> Deployment:
        """'Cloud' or 'Server' (Data Center reports 'Server'); call after the first request."""
        jira = self._jira
        return "Cloud" if jira is not None and jira.deploymentType == "Cloud" else "Server"

    @property
    def is_cloud(self) -> bool:
        """True on Jira Cloud (accountIds, /search/jql)."""
        return self.deployment == "Cloud"

    async def connect(self) -> Deployment:
        """Build the client now (GET serverInfo), retried like a read; returns the deployment type."""
        if self._jira is None:
            await self.read(lambda jira: None, what="reach Jira")
        return self.deployment

    async def _run(self, fn: Callable[[JIRA], T]) -> T:
        async with self._sem:
            return await asyncio.to_thread(lambda: fn(self._client()))

    # ---------------------------------------------------------------- reads and writes

    async def read(self, fn: Callable[[JIRA], T], *, what: str, subject: str | None = None) -> T:
        """Run a read; retry 429/502/503/504 and connection failures with bounded backoff."""
        attempt = 0
        while True:
            try:
                return await self._run(fn)
            except Exception as exc:  # noqa: BLE001 - every failure is mapped below
                delay = self._retry_delay(exc, attempt)
                self._failed(exc, retried=delay is not None)
                if delay is None:
                    raise map_error(
                        exc, what=what, subject=subject, write=False, credentials=self.credential_settings
                    ) from None
                attempt += 1
                log.info(
                    "jira read retry",
                    extra={
                        "fields": {
                            "what": what,
                            "attempt": attempt,
                            "delay_s": round(delay, 3),
                            "status": _status(exc),
                        }
                    },
                )
                await self._sleep(delay)

    async def write(
        self,
        fn: Callable[[JIRA], T],
        *,
        what: str,
        subject: str | None = None,
        sent: Mapping[str, Any] | None = None,
    ) -> T:
        """Run a write exactly once: a failure is mapped, never retried (it may have been applied).

        `sent` (field -> value we sent) lets a field error name the value Jira refused.
        """
        try:
            return await self._run(fn)
        except Exception as exc:  # noqa: BLE001 - every failure is mapped below
            self._failed(exc, retried=False)
            raise map_error(
                exc, what=what, subject=subject, write=True, sent=sent, credentials=self.credential_settings
            ) from None

    def _failed(self, exc: BaseException, *, retried: bool) -> None:
        if self._on_failure is None:
            return
        status = _status(exc)
        reason = "rate_limited" if status == 429 else "server_error" if status in _RETRYABLE_STATUS else "connection" if _is_connection_failure(exc) else "other"
        try:
            self._on_failure(status, retried, reason)
        except Exception:  # noqa: BLE001 - counting must never change what the call does
            log.warning("jira failure observer failed", exc_info=True)

    def _retry_delay(self, exc: BaseException, attempt: int) -> float | None:
        if attempt >= self.max_read_retries:
            return None
        status = _status(exc)
        if status in _RETRYABLE_STATUS:
            retry_after = retry_after_seconds(exc)
            if retry_after is not None:
                # Asked to wait longer than we allow: answer now; the model can tell the user when.
                return retry_after if retry_after <= self.retry_max_seconds else None
        elif not (_is_connection_failure(exc) and attempt == 0):
            # A refused connection gets one quick retry (a blip); a Jira that is down answers fast.
            return None
        backoff = min(self.retry_max_seconds, self.retry_base_seconds * 2**attempt)
        return backoff * random.uniform(0.5, 1.0)

    # ---------------------------------------------------------------- raw calls the package lacks

    @staticmethod
    def get_json(jira: JIRA, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET /rest/api/2/<path> and return the JSON, through the package's session."""
        return jira._get_json(path, params=params)

    @staticmethod
    def put_json(jira: JIRA, path: str, body: dict[str, Any]) -> None:
        """PUT /rest/api/2/<path> through the package's session (same auth, timeout, no retries).

        Used where the package adds calls we do not want: `Issue.update` reloads every field after the
        PUT, and `assign_issue` resolves the assignee by a user search that may take the first match.
        """
        jira._session.put(jira._get_url(path), data=json.dumps(body))

    def close(self) -> None:
        """Close the HTTP session (blocking; `aclose` from async code)."""
        with self._lock:
            jira, self._jira = self._jira, None
        if jira is not None:
            jira.close()

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await asyncio.to_thread(self.close)


# -------------------------------------------------------------------- error mapping


def _status(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, JIRAError) else None


def _is_connection_failure(exc: BaseException) -> bool:
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
        return PermissionDenied(f"Jira does not allow the bot to {what}: {errors['project']}")
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


def failed_login(exc: JIRAError) -> str | None:
    """The `X-Seraph-LoginReason` of a failed login on this error's response, if any."""
    headers = exc.response.headers if exc.response is not None else {}
    reason = str(headers.get("X-Seraph-LoginReason") or "").strip().upper()
    return reason if reason in FAILED_LOGIN_REASONS else None


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

    A failed login is recognised before any status meaning: 401, or any answer carrying a failed
    `X-Seraph-LoginReason` (Cloud's 404 for a bad token, the 403 of a login that needs a CAPTCHA), is
    `BackendCredentialsRejected`, never "not found" or "not permitted"."""
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
            return PermissionDenied(f"Jira does not allow the bot to {what} (403): {detail}")
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
