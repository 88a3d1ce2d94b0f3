"""Background work of the Slack surface: listeners ack at once and hand the slow part to `Background`.

Tracking the tasks (rather than fire-and-forget) lets shutdown drain conversations in flight, lets tests wait
for the work to finish (an event, not a sleep), and keeps a failure in one conversation from going unnoticed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.logs import get_logger, log_event

_log = get_logger("slack.tasks")


class Background:
    """A set of running tasks with a way to wait until none is left."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.failures = 0

    @property
    def active(self) -> int:
        """How many tasks are running."""
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background; its exception (if any) is logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.failures += 1
            log_event(_log, "background task failed", logging.ERROR, task=task.get_name(), error=repr(exc))
        if not self._tasks:
            self._idle.set()

    async def join(self, timeout: float | None = None) -> bool:
        """Wait until no task is running (tasks spawned meanwhile included); False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def cancel_all(self) -> None:
        """Cancel what is still running and wait for it to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
