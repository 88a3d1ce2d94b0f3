"""What every Slack listener shares: dependencies, the agent, the client, lookups and background tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.slack.tasks import Background
from bot.slack_api.client import close_web_client

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.agent.loop import Agent
    from bot.deps import Deps
    from bot.slack.identity import Directory


@dataclass
class Surface:
    """What every Slack listener shares: dependencies, the agent, the client, lookups and background tasks."""

    deps: Deps
    agent: Agent
    client: AsyncWebClient
    directory: Directory
    tasks: Background = field(default_factory=Background)

    async def aclose(self) -> None:
        """Cancel conversations still running (drain first: `tasks.join`), close the Slack client's connections."""
        await self.tasks.cancel_all()
        await close_web_client(self.client)
