"""Waiting for the database at start-up, and recognising "the database is not reachable" at run time.

A fresh PostgreSQL container takes seconds to accept connections; the bot waits for it with bounded backoff (1 s,
2 s, 4 s, ... at most 15 s between attempts) and says so in one log line per attempt, for at most
CHATOPS_DATABASE_WAIT_SECONDS, then stops with one clear message (never a traceback).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from bot.errors import ConfigError
from bot.logs import get_logger, log_event

_log = get_logger("storage.wait")

FIRST_DELAY = 1.0
MAX_DELAY = 15.0


def is_unavailable(exc: BaseException) -> bool:
    """True for failures that mean the database cannot be reached (not a bug in a query)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def describe(url: str) -> str:
    """Where the database is, without credentials: `host:port/db` or the SQLite path."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def ping_url(url: str) -> None:
    """Connect once and run SELECT 1 (raises when the database cannot be reached)."""
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    engine = create_engine(url, poolclass=None, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


async def wait_for_database(
    url: str,
    *,
    deadline_seconds: float,
    ping: Callable[[str], None] = ping_url,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Return once the database answers; ConfigError after `deadline_seconds` of trying (0: try once)."""
    where = describe(url)
    started = time.monotonic()
    delay = FIRST_DELAY
    attempt = 0
    while True:
        attempt += 1
        try:
            await asyncio.to_thread(ping, url)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
            left = deadline_seconds - (time.monotonic() - started)
            if left <= 0:
                raise ConfigError(
                    f"The database is not reachable at {where} ({reason}); gave up after {attempt} attempts. "
                    "Check DATABASE_URL and that the database is running."
                ) from None
            wait = round(min(delay, left), 1)
            log_event(_log, f"database not reachable at {where}, retrying in {wait:g} s", logging.WARNING, attempt=attempt, error=reason)
            await sleep(wait)
            delay = min(delay * 2, MAX_DELAY)
            continue
        if attempt > 1:
            log_event(_log, f"database reachable at {where}", attempt=attempt)
        return
