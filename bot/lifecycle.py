"""The process's own state: whether it is draining (shutting down: no new conversations, the running ones finish).

One `Lifecycle` per process, built by `bot.wiring.build_deps` and held by `Deps.lifecycle`; the server sets it
when a stop is requested, the HTTP handler and `/healthz` read it.
"""

from __future__ import annotations

import asyncio


class Lifecycle:
    """Draining or serving; once draining, a process never serves again."""

    def __init__(self) -> None:
        self._draining = asyncio.Event()

    @property
    def draining(self) -> bool:
        """True once `drain()` was called."""
        return self._draining.is_set()

    def drain(self) -> None:
        """Stop taking new conversations (idempotent)."""
        self._draining.set()
