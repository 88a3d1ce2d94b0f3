"""Base for the local fake servers (Slack, Anthropic, Jira): an aiohttp app on an ephemeral port, served from
its own thread and event loop, so both async code and blocking clients (the `jira` package) can call it.

Each server records every request (`RecordedRequest`) so tests assert on what really went over HTTP.
Tests wait on events (`wait_for`), never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body or b"null")


class FakeServer:
    """Serve `self.app` (an aiohttp Application built by `build_app`) on 127.0.0.1:<ephemeral>."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- subclass API
    def build_app(self) -> web.Application:
        """Return the aiohttp application; subclasses add routes."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    # -- recording
    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        body = await request.read()
        form: dict[str, str] = {}
        if request.content_type == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qsl

            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        rec = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
            form=form,
        )
        with self._cond:
            self.requests.append(rec)
            self._cond.notify_all()
        return await handler(request)

    def wait_for(self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 10.0) -> None:
        """Block until `predicate(self.requests)` holds (raises AssertionError after `timeout`)."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.requests), timeout=timeout):
                raise AssertionError(f"condition not met within {timeout}s; saw {[r.path for r in self.requests]}")

    async def await_for(self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 10.0) -> None:
        """`wait_for` without blocking the caller's event loop."""
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    def paths(self) -> list[str]:
        """Paths requested so far, in order."""
        with self._cond:
            return [r.path for r in self.requests]

    # -- lifecycle
    def start(self) -> FakeServer:
        """Start serving; returns self."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def _serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                app = self.build_app()
                app.middlewares.insert(0, self._record)
                runner = web.AppRunner(app, access_log=None)
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                self._runner = runner
                server = site._server
                assert server is not None
                self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            except BaseException as exc:  # noqa: BLE001 - surfaced to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=_serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
