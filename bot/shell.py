"""`chatops shell --user U123`: the assistant in a terminal, with the same deps, loop, store and trace as Slack.

Questions are read line by line, interactively or piped (`echo "what is OPS-1?" | chatops shell --user U1`);
each answer is printed with a compact trace, and the session ends at end of input or `exit`. One shell session is
one conversation. A write that needs confirmation asks `[y/N]` (piped: the next input line is the answer).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

from bot.agent.loop import Agent, ThreadRef
from bot.agent.types import ProgressEvent, TraceEntry, TurnResult
from bot.messages import agent as agent_text
from bot.messages import cli as cli_text
from bot.settings import Settings
from bot.tools.base import Actor

if TYPE_CHECKING:
    from bot.deps import Deps

QUIT_WORDS = frozenset({"exit", "quit", ":q"})


async def run_shell(
    settings: Settings,
    *,
    build_deps: Callable[..., Awaitable[Deps]],
    user_id: str,
    name: str | None = None,
    email: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run the terminal session; 0 at end of input, 2 when no model API key is configured. `build_deps`: the wiring
    (`bot.wiring.build_deps`, given by the entry point); the terminal has no Slack client."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if settings.chatops_provider == "anthropic" and settings.anthropic_api_key is None:
        print(agent_text.missing_api_key(), file=sys.stderr)
        return 2
    deps = await build_deps(settings, slack=None)
    try:
        session = _Session(deps.agent, stdin, stdout, user_id=user_id, name=name, email=email)
        await session.loop()
    finally:
        await deps.aclose()
    return 0


class _Session:
    """One terminal conversation."""

    def __init__(self, agent: Agent, stdin: TextIO, stdout: TextIO, *, user_id: str, name: str | None, email: str | None) -> None:
        self.agent = agent
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = stdin.isatty()
        self.actor = Actor(user_id=user_id, team_id="shell", channel_id="shell", channel_type="shell", name=name, email=email)
        self.thread = ThreadRef(team_id="shell", channel_id=f"shell-{user_id}", thread_ts=f"{time.time():.6f}")

    async def loop(self) -> None:
        """Ask, answer, repeat until end of input."""
        if self.interactive:
            self._print(cli_text.shell_banner(self.actor.user_id))
        while True:
            line = await self._read("> ")
            if line is None:
                return
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT_WORDS:
                return
            progress = self._progress if self.interactive else None
            result = await self.agent.run_turn(actor=self.actor, thread=self.thread, text=text, on_progress=progress)
            while result.status == "paused" and result.pending is not None:
                self._show(result)
                answer = await self._read(cli_text.shell_confirm(result.pending.description))
                approved = (answer or "").strip().lower() in ("y", "yes")
                result = await self.agent.resume(
                    approval_id=result.pending.approval_id, approved=approved, decided_by=self.actor.user_id, on_progress=progress
                )
            self._show(result)

    async def _read(self, prompt: str) -> str | None:
        if self.interactive:
            self.stdout.write(prompt)
            self.stdout.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        return line if line else None

    async def _progress(self, event: ProgressEvent) -> None:
        if event.kind == "tool_started":
            self._print(f"  … {event.tool} {event.detail}".rstrip())

    def _show(self, result: TurnResult) -> None:
        self._print(result.text)
        for entry in result.trace:
            self._print(trace_line(entry))
        self._print("")

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


def trace_line(entry: TraceEntry) -> str:
    """`  · get_ticket key='OPS-1' · 12 ms · ok`."""
    args = " ".join(f"{k}={v!r}" for k, v in entry.arguments.items())
    if len(args) > 100:
        args = args[:99] + "…"
    status = "ok" if entry.ok else f"{entry.outcome}: {entry.summary[:120]}"
    return f"  · {entry.tool} {args} · {entry.duration_ms:.0f} ms · {status}"
