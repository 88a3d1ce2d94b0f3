"""The Bolt `AsyncApp`: the Web API client on SLACK_API_URL, signature verification, and every listener.

`build_surface(deps)` and `create_app(surface)` are the one place the Slack surface is assembled (on the Slack
client and the Agent `build_deps` made); `chatops run` serves it over HTTP or Socket Mode (bot/slack/server.py)
and tests dispatch requests to it directly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.response import BoltResponse

from bot.logs import get_logger, log_event
from bot.slack import admin_modal, approvals_ui, feedback
from bot.slack.assistant import register_agent_view
from bot.slack.channels import register_channel_events
from bot.slack.commands import register_commands
from bot.slack.home import register_home
from bot.slack.identity import Directory
from bot.slack.listeners import register_conversation_listeners
from bot.slack.mcp_buttons import register_mcp_handlers
from bot.slack.payloads import shape_problem
from bot.slack.schedule_buttons import register_schedule_handlers
from bot.slack.shortcuts import register_shortcuts
from bot.slack.surface import Surface
from bot.slack.unfurls import register_unfurls
from bot.slack_api.client import SafeAck, SafeRespond, SlackClient, as_slack_client

if TYPE_CHECKING:
    from bot.deps import Deps

_log = get_logger("slack.app")


class _GivenClientNote(logging.Filter):
    """Drops Bolt's "As you gave `client` as well, `token` will be unused." warning: Bolt reads SLACK_BOT_TOKEN from
    the environment itself, and the app is always given the one client built from the same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_surface(deps: Deps) -> Surface:
    """What every listener shares: these deps, their one Agent, their SlackClient (the outbound boundary), lookups
    and background tasks."""
    client = deps.slack
    if not isinstance(client, SlackClient):
        raise TypeError("deps.slack must be a bot.slack_api.client.SlackClient: a plain AsyncWebClient bypasses the sanitizer")
    return Surface(deps=deps, agent=deps.agent, client=client, directory=Directory(client=client, deps=deps))


def create_app(surface: Surface, *, process_before_response: bool = False) -> AsyncApp:
    """The Bolt app with every listener registered, on the surface's client and agent."""
    deps, client = surface.deps, surface.client
    secret = deps.settings.slack_signing_secret
    bolt_logger = get_logger("slack.bolt")
    if not any(isinstance(f, _GivenClientNote) for f in bolt_logger.filters):
        bolt_logger.addFilter(_GivenClientNote())
    app = AsyncApp(
        client=client,
        # an empty secret is fine in Socket Mode (nothing is signed); `run_bot` refuses HTTP mode without one
        signing_secret=secret.get_secret_value() if secret is not None else "",
        process_before_response=process_before_response,
        name="chatops",
        logger=bolt_logger,
        raise_error_for_unhandled_request=True,  # no listener for it: 200 and logged (on_error), not a 404 Slack retries
    )
    @app.middleware
    async def ignore_malformed(body: Any, next_: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        # HTTP mode checked this before Bolt (bot/slack/server.py); Socket Mode payloads are checked here.
        if problem := shape_problem(body):
            log_event(_log, "request ignored", logging.WARNING, reason=problem)
            return BoltResponse(status=200, body="")
        return await next_()

    @app.middleware
    async def outbound_boundary(context: AsyncBoltContext, next_: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        # Bolt gives each request a plain AsyncWebClient (context.client, behind say / say_stream / set_status),
        # respond() posts to response_url and ack() answers in the HTTP / socket response: every listener gets the
        # sanitizing ones instead.
        given = context.client
        same = given.token == client.token and given.base_url == client.base_url and given.default_params == client.default_params
        context["client"] = client if same else as_slack_client(given)  # the app's own when Bolt's is its copy
        context["ack"] = SafeAck()
        context["respond"] = SafeRespond(response_url=context.response_url, proxy=client.proxy, ssl=client.ssl)
        return await next_()

    # Bolt tries listeners in the order they were registered, building each one's arguments to run its matchers:
    # mentions and messages, nearly every request, are tried first (the channel events share no event type with them)
    register_conversation_listeners(app, surface)
    register_channel_events(app, surface.directory)
    register_commands(app, surface)
    register_shortcuts(app, surface)
    register_agent_view(app, surface)  # before the App Home's app_home_opened listener (it takes tab == "messages")
    register_home(app, surface)
    register_unfurls(app, surface)
    approvals_ui.register_approval_handlers(app, deps, surface.agent, surface.tasks)
    admin_modal.register_admin_handlers(app, deps)
    register_schedule_handlers(app, deps)
    feedback.register_feedback_handlers(app, surface)
    register_mcp_handlers(app, deps)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # An event, action or envelope we have no listener for (a URL button, a new event type): acknowledged
            # so Slack neither retries it nor shows the person an error, and logged once.
            event = body.get("event")
            kind = event.get("type") if isinstance(event, dict) else None
            log_event(_log, "request ignored", logging.INFO, reason="no listener for it", type=body.get("type"), event=kind)
            return BoltResponse(status=200, body="")
        log_event(
            _log,
            "listener failed",
            logging.ERROR,
            error=repr(error),
            type=body.get("type"),
            event_id=body.get("event_id"),
        )
        return None

    return app
