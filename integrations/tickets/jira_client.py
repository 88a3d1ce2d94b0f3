"""The connection to Jira: one `jira.JIRA` client for the bot's credential, and our transport policy.

Policy (jira.md §6-8):
- The package's own retries are off (`max_retries=0`): it retries every method, POST included, with
  blocking sleeps, so a create could be sent twice. Reads are retried here instead, with bounded backoff
  that honours Retry-After, sleeping on the event loop; writes are sent exactly once.
- Every call runs in a worker thread (`asyncio.to_thread`), at most `max_concurrency` at a time, with a
  (connect, read) timeout, so a slow Jira costs one thread and a quick `Unavailable`, never the event loop.
- Errors are mapped to `integrations.errors` (`jira_errors.map_error`); nothing from `jira`/`requests` escapes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

from jira import JIRA

from integrations.tickets.jira_errors import (
    RETRYABLE_STATUS,
    is_connection_failure,
    map_error,
    retry_after_seconds,
    status_of,
)

T = TypeVar("T")
Deployment = Literal["Cloud", "Server"]
Sleep = Callable[[float], Awaitable[None]]
OnFailure = Callable[[int | None, bool, str], None]
"""Told of every failed Jira call: (HTTP status or None, whether it is retried, reason: rate_limited,
server_error, connection or other). The bot counts them in its metrics."""

log = logging.getLogger("chatops.jira")



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
                            "status": status_of(exc),
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
        status = status_of(exc)
        reason = "rate_limited" if status == 429 else "server_error" if status in RETRYABLE_STATUS else "connection" if is_connection_failure(exc) else "other"
        try:
            self._on_failure(status, retried, reason)
        except Exception:  # noqa: BLE001 - counting must never change what the call does
            log.warning("jira failure observer failed", exc_info=True)

    def _retry_delay(self, exc: BaseException, attempt: int) -> float | None:
        if attempt >= self.max_read_retries:
            return None
        status = status_of(exc)
        if status in RETRYABLE_STATUS:
            retry_after = retry_after_seconds(exc)
            if retry_after is not None:
                # Asked to wait longer than we allow: answer now; the model can tell the user when.
                return retry_after if retry_after <= self.retry_max_seconds else None
        elif not (is_connection_failure(exc) and attempt == 0):
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
