"""`chatops run --http --workers N`: N bot processes serving one port.

The supervisor (the process `chatops run` started) checks the settings, migrates the database once, then starts
N workers: each is `chatops run --http` in its own process and binds the same port with SO_REUSEPORT, so the
kernel spreads connections across them. The workers share nothing but the database, which already coordinates
everything that must happen once whichever process sees it (event dedupe, approval claims, scheduled slots with
leases, configuration versions). SIGTERM / SIGINT are passed on and each worker drains its conversations; when a
worker dies on its own the others are stopped and the supervisor exits with its code (the orchestrator restarts
the whole set).

SQLite allows one writer at a time and is a file on one machine: more than one worker is refused with a message;
PostgreSQL takes N (default: one per CPU). Metrics of all workers are merged through PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile

from bot.errors import ConfigError
from bot.logs import get_logger, log_event
from bot.messages import cli as cli_text
from bot.metrics import MULTIPROC_ENV
from bot.settings import Settings

_log = get_logger("slack.workers")
STOP_SECONDS = 45.0
"""How long stopping workers may take (each drains its conversations for up to 30 s) before they are killed."""


def is_sqlite(settings: Settings) -> bool:
    """Whether the database is a SQLite file (one writer)."""
    return settings.database_url.startswith("sqlite")


def worker_count(settings: Settings, requested: int | None, *, http: bool) -> int:
    """How many workers to run: `requested`, or one per CPU on PostgreSQL and one on SQLite; ConfigError when
    the request cannot be served safely."""
    if requested is not None and requested < 1:
        raise ConfigError(cli_text.workers_invalid(requested))
    if requested is None:
        return 1 if is_sqlite(settings) or not http else max(1, os.cpu_count() or 1)
    if requested > 1 and not http:
        raise ConfigError(cli_text.workers_socket_mode())
    if requested > 1 and is_sqlite(settings):
        raise ConfigError(cli_text.workers_need_postgres(requested))
    return requested


def worker_argv(*, host: str, port: int, log_format: str | None) -> list[str]:
    """The command line of one worker."""
    argv = [sys.executable, "-m", "bot"]
    if log_format:
        argv += ["--log-format", log_format]
    return argv + ["run", "--http", "--host", host, "--port", str(port), "--worker"]


async def prepare_database(settings: Settings) -> None:
    """Migrate (and on the local store, seed) once, before the workers start."""
    from bot.clock import utcnow
    from bot.storage.db import Database, make_engine
    from bot.storage.migrations import migrate

    db = Database(make_engine(settings.database_url))
    try:
        await migrate(db)
        if settings.ticket_backend == "local":
            from integrations.tickets.seed import seed_demo

            await seed_demo(db, now=utcnow())
    finally:
        db.dispose()


async def supervise(settings: Settings, *, count: int, host: str, port: int, log_format: str | None) -> int:
    """Run `count` workers until a signal (exit 0 when they all stop cleanly) or until one dies (its code)."""
    await prepare_database(settings)
    metrics_dir = tempfile.mkdtemp(prefix="chatops-metrics-")
    env = {**os.environ, MULTIPROC_ENV: metrics_dir}
    argv = worker_argv(host=host, port=port, log_format=log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    procs = [await asyncio.create_subprocess_exec(*argv, env=env, preexec_fn=_die_with_parent) for _ in range(count)]
    log_event(_log, "workers started", count=count, port=port, pids=",".join(str(p.pid) for p in procs))
    try:
        waits = {asyncio.ensure_future(p.wait()): p for p in procs}
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([*waits, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        died = None if stop.is_set() else next(waits[f] for f in done if f in waits)
        if died is not None:
            log_event(_log, "a worker exited; stopping the others", logging.ERROR, pid=died.pid, code=died.returncode)
        await _stop_all(procs)
        if died is not None:
            return died.returncode or 1
        return next((p.returncode for p in procs if p.returncode), 0) or 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _die_with_parent() -> None:
    """In the forked worker: get SIGTERM when the supervisor dies, even by SIGKILL (Linux), so no worker is left
    serving the port on its own."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the supervisor's normal stop still stops them
        pass


async def _stop_all(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), STOP_SECONDS)
    except TimeoutError:
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        await asyncio.gather(*(p.wait() for p in procs))
