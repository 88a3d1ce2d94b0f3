"""Wiring for tests: a real `JiraTickets` (the `jira` package over HTTP) pointed at a `JiraServer`."""

from __future__ import annotations

import asyncio

from integrations.tickets.base import Person
from integrations.tickets.jira import JiraTickets
from integrations.tickets.jira_client import JiraClient, Sleep
from tests.fakes.jira_server import JiraServer


class RecordingSleep:
    """The backoff sleep for tests: records each delay asked for and yields once instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def jira_backend(
    server: JiraServer,
    *,
    timeout_seconds: float = 5.0,
    max_read_retries: int = 3,
    retry_max_seconds: float = 10.0,
    sleep: Sleep | None = None,
) -> JiraTickets:
    """A backend using the server's credentials for its deployment (API token on Cloud, PAT on Server)."""
    if server.state.cloud:
        credentials = {"email": server.email, "api_token": server.api_token}
    else:
        credentials = {"pat": server.pat}
    client = JiraClient(
        url=server.url,
        timeout_seconds=timeout_seconds,
        max_read_retries=max_read_retries,
        retry_max_seconds=retry_max_seconds,
        sleep=sleep or RecordingSleep(),
        **credentials,
    )
    return JiraTickets(client=client, clock=server.now)


def person(server: JiraServer, name: str, email: str | None) -> Person:
    """Add a Jira user; returns them as the backend reports people."""
    raw = server.add_user(name, email)
    ident = raw.get("accountId") or raw["name"]
    return Person(id=ident, name=name, email=raw.get("emailAddress"))
