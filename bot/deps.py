"""`Deps`: everything one process needs, built once by `bot.wiring.build_deps` and passed down to the surfaces.

`Deps` is the `Services` (clients, storage, policy: what the agent runs on) plus what is built on top of them:
the process's one `Agent` (one table of per-thread locks for every surface: mentions, slash commands, approval
clicks, the expiry sweep, the shell), the scheduler the stored schedules run on, and the process's lifecycle
(draining or serving). Frozen: nothing is assigned after construction. Only surfaces and entry points take a
`Deps`; the layers below take `Services` or a narrower protocol.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.agent.loop import Agent
from bot.lifecycle import Lifecycle
from bot.services import Services


@dataclass(frozen=True, kw_only=True)
class Deps(Services):
    """The process's parts (`Services`), its one Agent, its scheduler and its lifecycle."""

    agent: Agent
    """The process's one Agent, built on these same services."""
    scheduler: AsyncIOScheduler
    """The APScheduler the stored schedules run on (`bot.scheduler.scheduler` starts and stops it)."""
    lifecycle: Lifecycle
    """Draining or serving."""

    async def aclose(self, *, keep_llm: bool = False) -> None:
        """Close every client `build_deps` made (`keep_llm`: the model client is shared beyond these deps)."""
        if self.mcp is not None:
            await self.mcp.stop()
        if self.llm is not None and not keep_llm:
            await self.llm.aclose()
        await self.tickets.aclose()
        if self.slack is not None and self.slack.session is not None and not self.slack.session.closed:
            await self.slack.session.close()
        self.db.dispose()
        await asyncio.to_thread(self.tracing.shutdown)  # flushes the spans still queued (blocking HTTP)
