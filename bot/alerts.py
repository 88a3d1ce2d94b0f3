"""Telling the admins that the bot is misconfigured: one DM per problem per hour, whichever process sees it.

A `bot.errors.Misconfigured` (the model API key refused, an unknown model, Jira refusing the bot's credential)
cannot be fixed by the person who asked; an admin must change a setting. So the asker is told that the assistant is
misconfigured and that the admins know, and the admins (CHATOPS_ADMINS and the admin role) get a DM — at most one
per problem per `ALERT_WINDOW`, claimed in the database (`operator_alerts`) so several processes, and a whole
channel asking at once, still send one. The wording is the error's `summary`, the same `chatops doctor` prints.

The wiring builds one `AdminAlerts` per process (`Deps.alerts`); the agent, the tools and the scheduler call
`alerts.report`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.errors import Misconfigured
from bot.logs import get_logger, log_event
from bot.messages import agent as agent_text

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.storage.store import Store

ALERT_WINDOW = timedelta(hours=1)
"""At most one DM per problem in this window."""
_SLACK_ID = re.compile(r"^[CDGUW][A-Z0-9]{2,31}$")

logger = get_logger("alerts")


class AdminAlerts:
    """This process's way of telling the admins: the Slack client (None in the terminal: nobody to DM), the store
    that claims one alert per problem per window, and who the admins are now (the live policy's answer)."""

    def __init__(
        self, *, slack: AsyncWebClient | None, store: Store, admins: Callable[[], Awaitable[frozenset[str]]]
    ) -> None:
        self.slack = slack
        self.store = store
        self.admins = admins

    async def report(
        self, problem: Misconfigured, *, asker: str | None = None, channel: str | None = None, job: str | None = None
    ) -> bool:
        """Log `problem` and DM the admins unless some process did within the window. True when the admins know
        (told now, or within the window); False when nobody can be told (no Slack client, no admin, Slack failed).
        `job` names the scheduled job that met the problem when no one asked (a digest)."""
        log_event(
            logger, "misconfigured", logging.ERROR, problem=problem.problem, summary=problem.summary, detail=problem.detail
        )
        slack = self.slack
        if slack is None:
            return False
        try:
            admins = sorted(await self.admins())
            if not admins:
                return False
            if not await self.store.claim_alert(problem.problem, summary=problem.summary, window=ALERT_WINDOW):
                return True  # told within the window, by this process or another
        except Exception:  # noqa: BLE001 - telling the admins must never break the answer to the asker
            logger.exception("could not decide whether to alert the admins")
            return False
        seen = (
            asker if asker and _SLACK_ID.match(asker) else None,
            channel if channel and _SLACK_ID.match(channel) else None,
        )
        text = agent_text.misconfiguration_alert(problem.summary, problem.detail, asker=seen[0], channel=seen[1], job=job)
        told = False
        for admin in admins:
            try:
                await slack.chat_postMessage(channel=admin, text=text)
                told = True
            except Exception as exc:  # noqa: BLE001 - one admin's DM failing must not stop the others
                log_event(logger, "admin alert not delivered", logging.WARNING, admin=admin, error=type(exc).__name__)
        return told
