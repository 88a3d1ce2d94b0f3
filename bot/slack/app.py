"""The Bolt `AsyncApp`: the Web API client on SLACK_API_URL, signature verification, and every listener.

`create_app` is the one place the Slack surface is assembled; `chatops run` serves it over HTTP or Socket
Mode (bot/slack/server.py) and tests dispatch requests to it directly.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import get_logger, log_event
from bot.scheduler import slack_ui
from bot.slack import admin_modal, approvals_ui
from bot.slack.client import build_web_client
from bot.slack.commands import register_commands
from bot.slack.conversation import Surface
from bot.slack.home import register_home
from bot.slack.identity import Directory
from bot.slack.listeners import register_conversation_listeners
from bot.slack.shortcuts import register_shortcuts

if TYPE_CHECKING:
    from bot.agent.loop import Agent
    from bot.deps import Deps

SURFACE_KEY = "slack_surface"
_log = get_logger("slack.app")


def create_app(deps: Deps, *, agent: Agent, process_before_response: bool = False) -> AsyncApp:
    """The Bolt app with every listener registered; sets `deps.slack` to its AsyncWebClient."""
    client = deps.slack if isinstance(deps.slack, AsyncWebClient) else build_web_client(deps.settings)
    deps.slack = client
    secret = deps.settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        # an empty secret is fine in Socket Mode (nothing is signed); `run_bot` refuses HTTP mode without one
        signing_secret=secret.get_secret_value() if secret is not None else "",
        process_before_response=process_before_response,
        name="chatops",
        logger=get_logger("slack.bolt"),
    )
    surface = Surface(deps=deps, agent=agent, client=client, directory=Directory(client=client, deps=deps))
    deps.extras[SURFACE_KEY] = surface
    register_conversation_listeners(app, surface)
    register_commands(app, surface)
    register_shortcuts(app, surface)
    register_home(app, surface)
    approvals_ui.register_approval_handlers(app, deps, agent)
    admin_modal.register_admin_handlers(app, deps)
    slack_ui.register_schedule_handlers(app, deps)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log_event(
            _log,
            "listener failed",
            logging.ERROR,
            error=repr(error),
            type=body.get("type"),
            event_id=body.get("event_id"),
        )

    return app


def surface_of(deps: Deps) -> Surface:
    """The Surface `create_app` built for these deps (its background tasks, lookups)."""
    surface = deps.extras.get(SURFACE_KEY)
    if not isinstance(surface, Surface):
        raise LookupError("create_app has not been called with these deps")
    return surface
