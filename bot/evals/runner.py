"""Running eval tasks: k tries of each task, `concurrency` at a time, each in its own world.

One try = a copy of the seeded template database, the task's setup, a real `Agent` over the real tools and
policy (the asker's role and channel kind set as in Slack), the task's turns in one thread, each approval the
turn asks for answered as the task says (through `Agent.resume`, exactly as the Approve/Cancel buttons do), then
the end state and the last answer scored (`world.score`). Model failures are a failed try, never a crash of the
run; a task whose script runs out fails that try with the reason.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from bot.agent.loop import Agent, ThreadRef
from bot.agent.types import ProgressEvent, TurnResult
from bot.evals.tasks import Task
from bot.evals.world import Score, apply_setup, score, snapshot
from bot.settings import Settings
from bot.storage.db import Database, make_engine
from bot.storage.migrations import migrate
from bot.storage.tables import TurnRow
from bot.tools.base import Actor
from bot.wiring import build_deps
from integrations.llm.base import LLM, ToolSpec, Usage
from integrations.tickets.seed import PEOPLE, seed_demo

TEAM = "TEVAL"
CHANNELS = {"public": "CEVALPUB1", "private": "GEVALPRV1", "im": "DEVALDM01"}

LLMFactory = Callable[[Task, int], LLM]
"""The model for one try (the task, the try's index): the shared real client, or a client of its own per try (the
scripted provider's, pointed at the try's script)."""


@dataclass
class Try:
    """One try of one task."""

    task_id: str
    index: int
    passed: bool
    score: Score | None
    seconds: float
    usage: Usage = field(default_factory=Usage)
    tool_calls: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    status: str = ""
    answer: str = ""
    error: str | None = None

    @property
    def problems(self) -> list[str]:
        """Why the try failed."""
        out = list(self.score.problems) if self.score else []
        return out + ([self.error] if self.error else [])


class Runner:
    """Runs tasks against one model; `prepare()` once, then `run(tasks, k)`."""

    def __init__(
        self, settings: Settings, llm_for: LLMFactory, *, per_try: bool, concurrency: int = 4, now: datetime, workdir: Path | None = None
    ) -> None:
        self.settings = settings
        self.llm_for = llm_for
        self.per_try = per_try
        """True: each try's model is its own and closed with it; False: one shared client the caller closes."""
        self.concurrency = max(1, concurrency)
        self.now = now
        self._tmp = tempfile.TemporaryDirectory(prefix="chatops-eval-") if workdir is None else None
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.template = self.workdir / "template.db"
        self.progress: Callable[[Try], None] | None = None
        self._specs: dict[tuple[str, int], ToolSpec] = {}

    async def prepare(self) -> None:
        """Build the migrated, seeded template database once."""
        db = Database(make_engine(f"sqlite:///{self.template}"))
        try:
            await migrate(db)
            await seed_demo(db, now=self.now)
        finally:
            db.dispose()

    async def run(self, tasks: list[Task], k: int) -> list[Try]:
        """Every task k times, at most `concurrency` tries at once; results in task order, then try order."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(task: Task, index: int) -> Try:
            async with gate:
                result = await self.run_try(task, index)
            if self.progress is not None:
                self.progress(result)
            return result

        return list(await asyncio.gather(*(one(t, i) for t in tasks for i in range(k))))

    async def run_try(self, task: Task, index: int) -> Try:
        """One try in a fresh world (see the module docstring)."""
        path = self.workdir / f"{task.id}.{index}.db"
        await asyncio.to_thread(shutil.copyfile, self.template, path)
        settings = self._settings(task, path)
        started = time.perf_counter()
        llm = self.llm_for(task, index)
        deps = await build_deps(settings, llm=llm, clock=lambda: self.now, slack=None, seed=False)
        try:
            await apply_setup(deps.db, task.setup, now=self.now)
            before, bodies_before = await snapshot(deps.db)
            agent = deps.agent
            agent._specs = self._specs  # tool definitions are the same in every try: build them once per run
            results = await self._turns(agent, task)
            after, bodies_after = await snapshot(deps.db)
            cause = await _turn_error(deps.db, results[-1].turn_id) if results[-1].status == "failed" else None
        except Exception as exc:  # a broken setup or store: this try fails with the reason, the run goes on
            return Try(task.id, index, False, None, time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}")
        finally:
            await deps.aclose(keep_llm=not self.per_try)
            path.unlink(missing_ok=True)
        last = results[-1]
        graded = score(task, before, after, bodies_before, bodies_after, last.text, last.status)
        calls: dict[str, int] = {}
        usage = Usage()
        for result in results:
            usage = usage + result.usage
            for entry in result.trace:
                calls[entry.tool] = calls.get(entry.tool, 0) + 1
        return Try(
            task.id, index, graded.passed and (cause is None or task.expect.status == "failed"), graded, time.perf_counter() - started, usage=usage, tool_calls=calls,
            steps=sum(r.steps for r in results), status=last.status, answer=last.text,
            error=f"why the turn failed: {cause}" if cause else None,
        )

    async def _turns(self, agent: Agent, task: Task) -> list[TurnResult]:
        """Each turn's final result (after its approvals were answered): its trace and usage cover the whole turn."""
        actor = self._actor(task)
        thread = ThreadRef(TEAM, CHANNELS[task.user.channel], "1763476200.000100")
        results: list[TurnResult] = []
        for turn in task.turns:
            result = await agent.run_turn(actor=actor, thread=thread, text=turn.say, on_progress=_progress)
            for decision in turn.approvals:
                if result.status != "paused" or result.pending is None:
                    break
                result = await agent.resume(
                    approval_id=result.pending.approval_id, approved=decision == "approve", decided_by=actor.user_id, on_progress=_progress
                )
            results.append(result)
        return results

    def _actor(self, task: Task) -> Actor:
        person = task.user.person
        name, email = PEOPLE.get(person or "", (None, None))
        user_id = f"UEVAL{(person or 'anon').upper()}"[:11]
        return Actor(user_id=user_id, team_id=TEAM, channel_id=CHANNELS[task.user.channel], channel_type=task.user.channel, name=name, email=email)

    def _settings(self, task: Task, path: Path) -> Settings:
        user_id = self._actor(task).user_id
        update = {
            "database_url": f"sqlite:///{path}",
            "jira_url": None,
            "chatops_admins": [user_id] if task.user.role == "admin" else [],
            "chatops_default_role": "viewer" if task.user.role == "viewer" else "member",
            "chatops_policy_file": None,
        }
        return self.settings.model_copy(update=update)

    def close(self) -> None:
        """Remove the working directory."""
        if self._tmp is not None:
            self._tmp.cleanup()


async def _progress(event: ProgressEvent) -> None:
    """Progress is asked for as in Slack, so the provider streams its answers (the path `chatops run` takes);
    the eval scores the final result only."""


async def _turn_error(db: Database, turn_id: str) -> str | None:
    """What the stored turn says went wrong (the model API's error, a script that ran out, ...)."""
    if not turn_id:
        return None

    def run(session: Session) -> str | None:
        row = session.get(TurnRow, turn_id)
        return row.error if row is not None else None

    return await db.run(run)
