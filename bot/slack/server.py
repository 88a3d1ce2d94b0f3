"""`chatops run`: the Slack bot over Socket Mode (SLACK_APP_TOKEN set) or HTTP (`--http`).

HTTP mode serves `POST /slack/events` (events, commands, interactivity; Bolt verifies the signature) and
`GET /healthz` (200 only when the database answers) and `GET /metrics` (Prometheus text format, see
bot/metrics.py). Socket Mode needs no public URL; it still answers `GET /healthz` and `GET /metrics` on 127.0.0.1
so a container health check and a scraper work in both modes. SIGTERM / SIGINT stop taking
events (`/healthz` says `draining`, new Events API deliveries get 503 so Slack redelivers them to another
process), let conversations in flight finish for up to CHATOPS_SHUTDOWN_SECONDS, then hand the rest over
(bot/slack/recovery.py) and close the clients. At start the bot waits for the database (bot/storage/wait.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.errors import ConfigError
from bot.logs import get_logger, log_event
from bot.messages import cli as cli_text
from bot.metrics import CONTENT_TYPE
from bot.settings import Settings
from bot.slack.inbound import Rejection, read_body, verify
from bot.slack.payloads import shape_problem
from bot.slack.socket_mode import SocketModeHandler
from bot.slack.work_objects import ticket_page_text

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps
    from bot.slack.conversation import Surface
    from bot.slack.recovery import TurnKeeper

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
TICKET_PAGE_PATH = "/tickets/{key}"
MAX_BODY_BYTES = 2 * 1024 * 1024
WORKER_THREADS = 32
"""Threads for blocking work (SQL sessions, the jira client). asyncio's default (CPUs + 4) would queue
conversations behind each other's database calls on a small machine; 32 matches the PostgreSQL pool (10 + 20)."""
_log = get_logger("slack.server")


def check_settings(settings: Settings, *, http: bool) -> None:
    """Raise ConfigError naming every missing token for the chosen mode (and pointing at manifest.yml)."""
    missing: list[str] = []
    if settings.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN: the Bot User OAuth Token (xoxb-…), OAuth & Permissions → Install App")
    if http and settings.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET: Basic Information → App Credentials → Signing Secret (HTTP mode)")
    if not http and settings.slack_app_token is None:
        missing.append(
            "SLACK_APP_TOKEN: an app-level token (xapp-…) with connections:write, Basic Information → "
            "App-Level Tokens (Socket Mode); or run `chatops run --http` with SLACK_SIGNING_SECRET"
        )
    if settings.anthropic_api_key is None:
        missing.append("ANTHROPIC_API_KEY: your Anthropic API key")
    if missing:
        raise ConfigError(cli_text.missing_slack_settings(missing))


def _answer(rejection: Rejection, *, peer: str | None) -> web.Response:
    level = logging.INFO if rejection.status == 401 else logging.WARNING
    log_event(_log, "request refused", level, status=rejection.status, reason=rejection.reason, peer=peer)
    message = "invalid request" if rejection.status == 401 else "malformed request"
    return web.json_response({"error": message}, status=rejection.status)


def build_http_app(app: AsyncApp, deps: Deps) -> web.Application:
    """The aiohttp application of HTTP mode: POST /slack/events and GET /healthz.

    Signature first on the raw bytes (bot/slack/inbound.py), then the body, then Bolt. A signed request that
    cannot be read is answered 400, one our listeners cannot handle 200 (ignored, bot/slack/payloads.py); a
    failure inside Bolt is logged and answered 200 too. Nothing is answered 5xx."""
    secret = deps.settings.slack_signing_secret
    signing_secret = secret.get_secret_value() if secret is not None else ""

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()
        refused = verify(raw, request.headers, signing_secret)
        if refused is not None:
            return _answer(refused, peer=request.remote)
        read = read_body(raw, request.headers.get("Content-Type", ""))
        if isinstance(read, Rejection):
            return _answer(read, peer=request.remote)
        text, parsed = read
        if problem := shape_problem(parsed):
            log_event(_log, "request ignored", logging.WARNING, reason=problem, peer=request.remote)
            return web.json_response({"ok": False, "ignored": "malformed payload"}, status=200)
        if is_draining(deps) and parsed.get("type") == "event_callback":
            # stop taking events: Slack retries a 503 (another process, or us after the restart, answers it)
            return web.json_response({"error": "shutting down"}, status=503)
        try:
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
            response = await app.async_dispatch(bolt_request)
        except Exception as exc:  # noqa: BLE001 - a payload Bolt cannot take must never become a 5xx
            log_event(_log, "request ignored", logging.WARNING, reason=f"dispatch failed: {type(exc).__name__}: {exc}"[:300])
            return web.json_response({"ok": False, "ignored": "malformed payload"}, status=200)
        if response.status >= 500:
            log_event(_log, "request failed in a listener", logging.ERROR, status=response.status)
            return web.json_response({"ok": False}, status=200)
        return await to_aiohttp_response(response)

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.router.add_post(EVENTS_PATH, events)
    web_app.router.add_get(HEALTH_PATH, health_handler(deps))
    web_app.router.add_get(METRICS_PATH, metrics_handler(deps))
    web_app.router.add_get(TICKET_PAGE_PATH, ticket_page_handler(deps))
    return web_app


def build_health_app(deps: Deps) -> web.Application:
    """Socket Mode's local server (127.0.0.1): GET /healthz and GET /metrics."""
    health = web.Application()
    health.router.add_get(HEALTH_PATH, health_handler(deps))
    health.router.add_get(METRICS_PATH, metrics_handler(deps))
    return health


def ticket_page_handler(deps: Deps) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /tickets/<KEY>: what local-store ticket links open outside Slack (no ticket content; see work_objects)."""

    async def ticket_page(request: web.Request) -> web.Response:
        text = ticket_page_text(request.match_info.get("key"), deps.settings)
        return web.Response(text=text, content_type="text/plain") if text else web.Response(status=404, text="not found")

    return ticket_page


def is_draining(deps: Deps) -> bool:
    """True once shutdown began (SIGTERM): no new events are taken."""
    return deps.lifecycle.draining


def health_handler(deps: Deps) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /healthz: 200 when the database answers, 503 when not or while draining."""

    async def healthz(request: web.Request) -> web.Response:
        up = await deps.db.ping()
        draining = is_draining(deps)
        ok = up and not draining
        body = {"ok": ok, "database": "up" if up else "down", "draining": draining}
        return web.json_response(body, status=200 if ok else 503)

    return healthz


def metrics_handler(deps: Deps) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics: the Prometheus text format of `deps.metrics`."""

    async def metrics(request: web.Request) -> web.Response:
        body = await asyncio.to_thread(deps.metrics.exposition)  # multiprocess mode reads files
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return metrics


async def _serve(web_app: web.Application, *, host: str, port: int, reuse_port: bool = False) -> web.AppRunner:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
    return runner


def use_worker_threads(count: int = WORKER_THREADS) -> None:
    """Give the running loop a default executor big enough for many conversations at once."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=count, thread_name_prefix="chatops-io"))


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on the main thread / Windows
            pass


async def serve(
    app: AsyncApp,
    surface: Surface,
    *,
    http: bool,
    host: str,
    port: int,
    stop: asyncio.Event,
    keeper: TurnKeeper | None = None,
    reuse_port: bool = False,
) -> None:
    """Serve until `stop` is set, then drain the conversations in flight (and hand over the rest to `keeper`).
    `reuse_port`: one of several workers sharing the port (bot/slack/workers.py)."""
    deps = surface.deps
    runner: web.AppRunner | None = None
    socket: SocketModeHandler | None = None
    try:
        if http:
            runner = await _serve(build_http_app(app, deps), host=host, port=port, reuse_port=reuse_port)
            log_event(_log, "serving HTTP", host=host, port=port, path=EVENTS_PATH)
        else:
            token = deps.settings.slack_app_token
            assert token is not None
            socket = SocketModeHandler(app, token.get_secret_value())  # malformed frames screened
            await socket.connect_async()
            log_event(_log, "connected over Socket Mode")
            try:
                runner = await _serve(build_health_app(deps), host="127.0.0.1", port=port)
            except OSError as exc:
                log_event(_log, "health endpoint not started", logging.WARNING, port=port, error=str(exc))
        await stop.wait()
    finally:
        deps.lifecycle.drain()
        log_event(_log, "draining", seconds=deps.settings.chatops_shutdown_seconds)
        if socket is not None:
            await socket.close_async()
        if not await surface.tasks.join(timeout=deps.settings.chatops_shutdown_seconds):
            log_event(_log, "cancelling conversations still running", logging.WARNING, count=surface.tasks.active)
            await surface.tasks.cancel_all()
        if keeper is not None:
            await keeper.stop()
            await keeper.hand_over()
        await surface.aclose()
        if runner is not None:
            await runner.cleanup()


async def run_bot(
    settings: Settings,
    *,
    build_deps: Callable[[Settings], Awaitable[Deps]],
    http: bool,
    host: str,
    port: int,
    reuse_port: bool = False,
) -> int:
    """Run the bot until SIGTERM/SIGINT; ConfigError (exit 2) when a token is missing. `build_deps`: the wiring
    (`bot.wiring.build_deps`, given by the entry point). `reuse_port`: one of several workers sharing the port
    (bot/slack/workers.py)."""
    check_settings(settings, http=http)
    use_worker_threads()
    from bot.scheduler.scheduler import start_scheduler, stop_scheduler
    from bot.slack.app import build_surface, create_app
    from bot.slack.approvals_ui import expire_approvals
    from bot.slack.recovery import TurnKeeper
    from bot.storage.wait import wait_for_database

    stop = asyncio.Event()
    _stop_on_signals(stop)
    await wait_for_database(settings.database_url, deadline_seconds=settings.chatops_database_wait_seconds)
    deps = await build_deps(settings)
    try:
        surface = build_surface(deps)
        app = create_app(surface)
        keeper = TurnKeeper(surface)
        keeper.start()
        await start_scheduler(deps, expire_approvals=expire_approvals)
        try:
            await serve(app, surface, http=http, host=host, port=port, stop=stop, keeper=keeper, reuse_port=reuse_port)
        finally:
            await stop_scheduler(deps)
    finally:
        await deps.aclose()
    return 0
