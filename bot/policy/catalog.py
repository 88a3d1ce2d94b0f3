"""The projects the ticket system knows, and which it marks private; cached briefly, shared by concurrent callers.

Used to expand `public` and `*` scopes and to check project keys an admin types. When the ticket system cannot
be asked, the last good answer is kept; with none, the catalog is empty, which fails closed (`public` then
covers nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import ToolError
from bot.logs import get_logger, log_event

if TYPE_CHECKING:
    from integrations.tickets.base import TicketBackend

logger = get_logger("policy.catalog")


@dataclass(frozen=True)
class Catalog:
    """Project keys the ticket system listed, and those it marks private."""

    known: frozenset[str] = frozenset()
    private: frozenset[str] = frozenset()
    complete: bool = False
    """False when the ticket system could not be asked (the sets may be stale or empty)."""

    def public(self, extra_private: tuple[str, ...] = ()) -> frozenset[str]:
        """Known projects that are private neither in the ticket system nor in the policy."""
        return self.known - self.private - frozenset(extra_private)


class ProjectCatalog:
    """`await catalog.get()`: the cached Catalog, refreshed after `ttl` (failures retried after `retry`)."""

    def __init__(
        self,
        *,
        tickets: TicketBackend,
        clock: Callable[[], datetime],
        ttl: timedelta = timedelta(seconds=60),
        retry: timedelta = timedelta(seconds=15),
    ) -> None:
        self._tickets = tickets
        self._clock = clock
        self._ttl = ttl
        self._retry = retry
        self._value = Catalog()
        self._next_refresh: datetime | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Catalog:
        """The catalog; asks the ticket system at most once per `ttl`, whatever the number of callers."""
        if self._next_refresh is not None and self._clock() < self._next_refresh:
            return self._value
        async with self._lock:
            if self._next_refresh is not None and self._clock() < self._next_refresh:
                return self._value
            try:
                projects = await self._tickets.list_projects()
            except ToolError as exc:
                log_event(logger, "project list unavailable", level=30, error=type(exc).__name__)
                self._value = Catalog(known=self._value.known, private=self._value.private, complete=False)
                self._next_refresh = self._clock() + self._retry
                return self._value
            self._value = Catalog(
                known=frozenset(p.key for p in projects),
                private=frozenset(p.key for p in projects if p.private),
                complete=True,
            )
            self._next_refresh = self._clock() + self._ttl
            return self._value

    async def get_within(self, seconds: float) -> Catalog:
        """`get()`, but after `seconds` the last known catalog (marked incomplete) instead of waiting longer."""
        try:
            return await asyncio.wait_for(asyncio.shield(self.get()), seconds)
        except TimeoutError:
            return Catalog(known=self._value.known, private=self._value.private, complete=False)

    def invalidate(self) -> None:
        """Ask again on the next `get` (after an admin saved a change)."""
        self._next_refresh = None
