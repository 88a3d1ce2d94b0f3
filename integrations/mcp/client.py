"""`McpServer`: one configured server, kept connected by a supervisor task that owns its `mcp.Client`.

The supervisor enters and exits the client itself (anyio cancel scopes must be left by the task that entered
them), lists the tools, then watches: a `subscriptions/listen` stream (2026 servers that announce
`listChanged`), `notifications/tools/list_changed` (earlier servers), a periodic re-list, and a broken-connection
signal from calls. Any drop reconnects with capped exponential backoff; a server that never connects is reported
in `status` and never stops the bot.

Calls go through `client.session.call_tool` (never `Client.call_tool`, which silently re-lists and resends when
a 2026 server says the schema changed): a schema change must reach the policy as a re-list, not be accepted.
Calls run in the caller's task, so cancelling the turn cancels the call (the SDK tells the server).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from integrations.mcp.config import ServerConfig
from integrations.mcp.tools import CallOutcome, ToolDef, outcome, tool_def

logger = logging.getLogger("chatops.mcp")

State = Literal["starting", "connected", "reconnecting", "stopped"]
OnTools = Callable[[str, tuple[ToolDef, ...]], Awaitable[None]]


class McpCallError(Exception):
    """A call that got no usable answer: timeout, lost connection, protocol error. The text is for the model."""

    def __init__(self, message: str, *, kind: Literal["timeout", "unavailable", "protocol", "changed"]) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ServerStatus:
    """What admins and doctor see of a server."""

    name: str
    state: State = "starting"
    tools: tuple[ToolDef, ...] = ()
    last_error: str | None = None
    connects: int = 0
    """How many times a connection was established (2 after one reconnect)."""
    notifies: bool = False
    """True when the server announces tool list changes (else it is re-listed before use)."""
    listed_at: float = 0.0


@dataclass
class _Timing:
    backoff: float = 0.5
    backoff_cap: float = 30.0
    health_seconds: float = 30.0
    connect_timeout: float = 20.0
    list_timeout: float = 10.0
    max_result_chars: int = 200_000


class McpServer:
    """A supervised connection to one server. `start()`, then `call()`/`refresh()`; `stop()` at shutdown."""

    def __init__(self, config: ServerConfig, *, default_timeout: float, on_tools: OnTools | None = None, timing: _Timing | None = None) -> None:
        self.config = config
        self.timeout = config.timeout or default_timeout
        self.status = ServerStatus(name=config.name)
        self._on_tools = on_tools
        self._t = timing or _Timing()
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._broken = asyncio.Event()
        self._changed = asyncio.Condition()
        self.http_error: str | None = None
        """The last HTTP error status the server answered (HTTP servers)."""

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the supervisor task (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"mcp:{self.config.name}")

    async def stop(self) -> None:
        """Close the connection and end the supervisor."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            except Exception:
                logger.exception("mcp server %s: supervisor failed while stopping", self.config.name)
        self._set(state="stopped")

    async def wait_connected(self, *, connects: int = 1, timeout: float | None = None) -> bool:
        """Wait until at least `connects` connections were made and one is up; False after `timeout`."""

        def ready() -> bool:
            return self.status.state == "connected" and self.status.connects >= connects

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
            except TimeoutError:
                return False
        return True

    async def wait_for(self, predicate: Callable[[ServerStatus], bool], timeout: float) -> bool:
        """Wait until `predicate(status)` holds; False after `timeout`."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.status)), timeout)
            except TimeoutError:
                return False
        return True

    # ---------------------------------------------------------------- use

    async def refresh(self) -> tuple[ToolDef, ...]:
        """List the tools again now (before a turn uses a server that does not announce changes)."""
        client = self._client
        if client is None:
            return self.status.tools
        try:
            await self._list(client)
        except Exception as exc:
            self._fail(exc, "re-list failed")
        return self.status.tools

    async def call(self, name: str, arguments: dict[str, Any], *, progress: ProgressFnT | None = None) -> CallOutcome:
        """Call a tool; raises McpCallError when no answer could be had (timeout, connection lost, bad reply)."""
        client = self._client
        if client is None or self.status.state != "connected":
            raise McpCallError(f"MCP server {self.config.name} is not connected ({self.status.last_error or 'connecting'}); try again later.", kind="unavailable")
        try:
            result = await client.session.call_tool(name, arguments, read_timeout_seconds=self.timeout, progress_callback=progress)
        except MCPError as exc:
            code = exc.error.code
            if code == types.REQUEST_TIMEOUT:
                raise McpCallError(f"{self.config.name} did not answer {name} within {self.timeout:g} seconds; the call was cancelled.", kind="timeout") from None
            if code == types.CONNECTION_CLOSED:
                self._fail(exc, "connection lost during a call")
                self._broken.set()
                raise McpCallError(f"The connection to MCP server {self.config.name} was lost during the call; it is reconnecting.", kind="unavailable") from None
            if code == types.HEADER_MISMATCH:
                self._wake.set()
                raise McpCallError(f"{name} changed on {self.config.name} since it was listed; it is withheld until an admin re-approves it.", kind="changed") from None
            raise McpCallError(f"{self.config.name} refused the call: {exc.error.message[:300]} (code {code})", kind="protocol") from None
        except (httpx2.TransportError, OSError, EOFError) as exc:
            self._fail(exc, "connection lost during a call")
            self._broken.set()
            raise McpCallError(f"The connection to MCP server {self.config.name} failed ({type(exc).__name__}); it is reconnecting.", kind="unavailable") from None
        except (ValueError, RuntimeError) as exc:  # pydantic ValidationError is a ValueError; output-schema mismatch is RuntimeError
            logger.warning("mcp server %s: unusable result of %s: %s", self.config.name, name, str(exc)[:300])
            raise McpCallError(f"{self.config.name} answered {name} with a malformed result; it was discarded.", kind="protocol") from None
        if not isinstance(result, types.CallToolResult):
            raise McpCallError(f"{self.config.name} answered {name} with an unsupported result type.", kind="protocol")
        return outcome(result, limit=self._t.max_result_chars)

    # ---------------------------------------------------------------- the supervisor

    async def _supervise(self) -> None:
        delay = self._t.backoff
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except _Broken:
                pass  # already logged where it was noticed
            except BaseException as exc:  # anyio wraps transport failures in ExceptionGroups
                self._fail(exc, "connection failed" if self.status.state != "connected" else "connection lost")
            self._client = None
            if self._stop.is_set():
                break
            if time.monotonic() - started > self._t.health_seconds:
                delay = self._t.backoff  # it was up for a while: start the backoff again
            self._set(state="reconnecting")
            logger.warning("mcp server %s: reconnecting in %.1f s (%s)", self.config.name, delay, self.status.last_error)
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, self._t.backoff_cap)

    async def _session(self) -> None:
        self._broken.clear()
        async with _HttpClient(self.config, self) as http, _ErrLog(self.config.name) as errlog:
            client = Client(self._transport(http, errlog), message_handler=self._on_message, read_timeout_seconds=self._t.connect_timeout)
            async with asyncio.timeout(self._t.connect_timeout):
                await client.__aenter__()
            try:
                caps = client.server_capabilities.tools
                notifies = bool(caps and caps.list_changed)
                self._client = client
                await self._list(client)
                self._set(state="connected", connects=self.status.connects + 1, notifies=notifies, last_error=None)
                logger.info("mcp server %s: connected (%d tools, protocol %s)", self.config.name, len(self.status.tools), client.protocol_version)
                await self._watch(client, listen=notifies)
            finally:
                self._client = None
                await client.__aexit__(None, None, None)

    async def _watch(self, client: Client, *, listen: bool) -> None:
        listener = asyncio.create_task(self._listen(client)) if listen else None
        try:
            while not self._stop.is_set():
                waiters = [asyncio.ensure_future(e.wait()) for e in (self._stop, self._wake, self._broken)]
                done, pending = await asyncio.wait(waiters, timeout=self._t.health_seconds, return_when=asyncio.FIRST_COMPLETED)
                for w in pending:
                    w.cancel()
                if self._stop.is_set():
                    return
                if self._broken.is_set():
                    raise _Broken
                self._wake.clear()
                async with asyncio.timeout(self._t.list_timeout):
                    await self._list(client)  # a change announced, or the periodic health check
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self, client: Client) -> None:
        try:
            async with client.listen(tools_list_changed=True) as sub:
                async for _event in sub:
                    self._wake.set()
            self._fail(ConnectionError("the server closed its change stream"), "connection lost")
        except ListenNotSupportedError:
            return  # a pre-2026 connection: changes arrive as notifications
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(exc, "connection lost")
        self._broken.set()

    async def _list(self, client: Client) -> None:
        tools: list[ToolDef] = []
        cursor: str | None = None
        for _ in range(100):
            page = await client.session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
            tools.extend(tool_def(t) for t in page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        listed = tuple(sorted(tools, key=lambda t: t.name))
        changed = listed != self.status.tools
        self._set(tools=listed, listed_at=time.monotonic())
        if changed and self._on_tools is not None:
            await self._on_tools(self.config.name, listed)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            logger.warning("mcp server %s: malformed message ignored: %s", self.config.name, str(message)[:200])
        elif isinstance(message, types.ToolListChangedNotification):
            self._wake.set()

    def _transport(self, http: httpx2.AsyncClient | None, errlog: Any) -> Any:
        c = self.config
        if c.transport == "http":
            return streamable_http_client(c.url, http_client=http)
        params = StdioServerParameters(command=c.command, args=list(c.args), env=dict(c.env) or None, cwd=c.cwd)
        return stdio_client(params, errlog=errlog)

    # ---------------------------------------------------------------- status

    def _fail(self, exc: BaseException, what: str) -> None:
        detail = _describe(exc)
        if self.http_error:
            detail += f" ({self.http_error})"
        logger.warning("mcp server %s: %s: %s", self.config.name, what, detail)
        self._set(last_error=f"{what}: {detail}"[:300])

    def _set(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class _Broken(Exception):
    """The watcher noticed a lost connection (already logged)."""


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        return f"{exc.error.message[:200]} (code {exc.error.code})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class _HttpClient:
    """The httpx2 client of an HTTP server (its headers carry the credentials); None for stdio. Remembers the
    last HTTP error status, which the SDK folds into a generic error (a 401 reads as "error response")."""

    def __init__(self, config: ServerConfig, owner: McpServer) -> None:
        async def seen(response: httpx2.Response) -> None:
            owner.http_error = f"HTTP {response.status_code}" if response.status_code >= 400 else None

        self._client = (
            httpx2.AsyncClient(headers=dict(config.headers), timeout=httpx2.Timeout(30.0, read=300.0), event_hooks={"response": [seen]})
            if config.transport == "http"
            else None
        )

    async def __aenter__(self) -> httpx2.AsyncClient | None:
        return self._client

    async def __aexit__(self, *exc: Any) -> None:
        if self._client is not None:
            await self._client.aclose()


class _ErrLog:
    """A pipe whose read end is logged line by line (a server's stderr), at DEBUG, named by server."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __aenter__(self) -> Any:
        read_fd, write_fd = os.pipe()
        self._writer = os.fdopen(write_fd, "w")
        threading.Thread(target=self._pump, args=(read_fd,), daemon=True, name=f"mcp-stderr:{self.name}").start()
        return self._writer

    def _pump(self, fd: int) -> None:
        with os.fdopen(fd, "r", errors="replace") as stream:
            for line in stream:
                logger.debug("mcp server %s stderr: %s", self.name, line.rstrip()[:500])

    async def __aexit__(self, *exc: Any) -> None:
        self._writer.close()
