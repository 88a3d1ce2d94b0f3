"""Jira failing: rate limits, errors, slowness, garbage. Writes are never sent twice; reads retry within
bounds, honouring Retry-After; every failure becomes a clear error quickly, and the event loop keeps running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.errors import (
    BackendCredentialsRejected,
    BackendPermissionMissing,
    Misconfigured,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
)
from integrations.tickets.base import NewTicket, TicketChanges, TicketQuery
from integrations.tickets.jira import JiraTickets
from tests.fakes.jira_harness import RecordingSleep, jira_backend
from tests.fakes.jira_server import JiraServer

CREATE = r"/rest/api/2/issue$"


@pytest.fixture
def server() -> Iterator[JiraServer]:
    with JiraServer() as fake:
        yield fake


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def backend(server: JiraServer, sleep: RecordingSleep) -> AsyncIterator[JiraTickets]:
    tickets = jira_backend(server, sleep=sleep, max_read_retries=3, retry_max_seconds=10)
    await tickets.client.connect()
    yield tickets
    await tickets.aclose()


def new_ticket() -> NewTicket:
    return NewTicket(project="OPS", summary="Rotate the TLS certificates")


async def test_a_429_storm_on_create_sends_it_once_and_says_when_to_retry(
    server: JiraServer, backend: JiraTickets, sleep: RecordingSleep
) -> None:
    server.fault("POST", CREATE, status=429, retry_after="30", times=None)

    with pytest.raises(RateLimited, match="Nothing was changed. Try again in 30 s") as raised:
        await backend.create_ticket(new_ticket(), reporter=None, via="via test")

    assert raised.value.retry_after == 30
    assert server.sent("POST", CREATE) == 1
    assert sleep.delays == []


async def test_a_429_on_a_read_is_retried_after_retry_after_then_succeeds(
    server: JiraServer, backend: JiraTickets, sleep: RecordingSleep
) -> None:
    server.fault("GET", r"/issue/OPS-12$", status=429, retry_after="7")

    ticket = await backend.get_ticket("OPS-12")

    assert ticket.key == "OPS-12"
    assert sleep.delays == [7.0]
    assert server.sent("GET", r"/issue/OPS-12$") == 2


async def test_a_retry_after_beyond_the_limit_fails_fast_with_the_wait(
    server: JiraServer, backend: JiraTickets, sleep: RecordingSleep
) -> None:
    server.fault("GET", r"/search/jql$", status=429, retry_after="120")

    with pytest.raises(RateLimited) as raised:
        await backend.search_tickets(TicketQuery(projects=("OPS",)))

    assert raised.value.retry_after == 120
    assert sleep.delays == []
    assert server.sent("GET", r"/search/jql$") == 1


async def test_reads_stop_retrying_after_the_budget_with_bounded_backoff(
    server: JiraServer, backend: JiraTickets, sleep: RecordingSleep
) -> None:
    server.fault("GET", r"/issue/OPS-12$", status=503, times=None)

    with pytest.raises(Unavailable, match=r"\(503\)"):
        await backend.get_ticket("OPS-12")

    assert server.sent("GET", r"/issue/OPS-12$") == 1 + 3
    assert len(sleep.delays) == 3
    assert all(0 < d <= 10 for d in sleep.delays)
    assert sleep.delays[0] < sleep.delays[2]


async def test_a_500_on_a_read_is_not_retried(
    server: JiraServer, backend: JiraTickets, sleep: RecordingSleep
) -> None:
    server.fault("GET", r"/issue/OPS-12$", status=500)

    with pytest.raises(Unavailable, match=r"\(500\)"):
        await backend.get_ticket("OPS-12")

    assert server.sent("GET", r"/issue/OPS-12$") == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_on_a_write_is_unavailable_sent_once_and_says_it_may_have_applied(
    server: JiraServer, backend: JiraTickets, status: int
) -> None:
    server.fault("POST", r"/issue/OPS-12/comment$", status=status, retry_after="1", times=None)

    with pytest.raises(Unavailable, match="may or may not have been applied"):
        await backend.add_comment("OPS-12", "deployed", author=None, via="via test")

    assert server.sent("POST", r"/issue/OPS-12/comment$") == 1


async def test_a_slow_jira_is_unavailable_after_the_timeout_and_the_loop_keeps_running(
    server: JiraServer,
) -> None:
    backend = jira_backend(server, timeout_seconds=1.0)
    await backend.get_ticket("OPS-1")  # connected, fields discovered
    held = threading.Event()
    server.fault("GET", r"/issue/OPS-12$", hold=held)

    slow = asyncio.create_task(backend.get_ticket("OPS-12"))
    await server.await_for(lambda reqs: any(r.path.endswith("/issue/OPS-12") for r in reqs))
    other = asyncio.create_task(backend.get_ticket("OPS-2"))  # another conversation, same backend
    done, _ = await asyncio.wait({slow, other}, return_when=asyncio.FIRST_COMPLETED)

    assert done == {other} and (await other).key == "OPS-2"
    with pytest.raises(Unavailable, match="did not answer in time"):
        await slow
    held.set()
    await backend.aclose()


async def test_malformed_json_is_unavailable(server: JiraServer, backend: JiraTickets) -> None:
    server.fault("GET", r"/search/jql$", malformed=True)

    with pytest.raises(Unavailable, match="could not read"):
        await backend.search_tickets(TicketQuery(projects=("OPS",)))


async def test_json_of_the_wrong_shape_is_unavailable(server: JiraServer, backend: JiraTickets) -> None:
    server.fault("GET", r"/issue/OPS-12$", body={"id": "10012", "key": "OPS-12"})

    with pytest.raises(Unavailable, match="could not read"):
        await backend.get_ticket("OPS-12")


async def test_a_jira_that_is_down_is_unavailable(server: JiraServer, sleep: RecordingSleep) -> None:
    backend = jira_backend(server, sleep=sleep)
    server.stop()

    with pytest.raises(Unavailable, match="Cannot reach Jira"):
        await backend.list_projects()

    assert len(sleep.delays) == 1  # one quick retry for a blip, then an answer


async def test_rejected_credentials_are_neither_not_found_nor_not_permitted(server: JiraServer) -> None:
    backend = jira_backend(server)
    server.api_token = "rotated"

    with pytest.raises(BackendCredentialsRejected) as caught:
        await backend.list_projects()
    assert caught.value.summary == "Jira rejected the bot's credentials: check JIRA_EMAIL and JIRA_API_TOKEN"
    assert not isinstance(caught.value, NotFound | PermissionDenied)


async def test_a_plain_403_is_the_bot_accounts_missing_permission_an_operator_fixes(
    server: JiraServer, backend: JiraTickets
) -> None:
    server.fault("GET", r"/rest/api/2/project$", status=403)

    with pytest.raises(BackendPermissionMissing) as caught:
        await backend.list_projects()
    assert isinstance(caught.value, Misconfigured) and not isinstance(caught.value, PermissionDenied | BackendCredentialsRejected)
    assert caught.value.summary == "the bot's Jira account lacks permission to list projects: check its project permissions in Jira"
    assert caught.value.detail == "HTTP 403: You do not have permission to perform this operation."


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"},
        {"X-Authentication-Denied-Reason": "CAPTCHA_CHALLENGE; login-url=https://jira.example.com/login.jsp"},
    ],
    ids=["X-Seraph-LoginReason", "X-Authentication-Denied-Reason alone"],
)
async def test_a_403_of_a_failed_login_is_the_credentials_not_a_permission(
    server: JiraServer, backend: JiraTickets, headers: dict[str, str]
) -> None:
    server.fault("GET", r"/rest/api/2/project$", status=403, headers=headers)

    with pytest.raises(BackendCredentialsRejected) as caught:
        await backend.list_projects()
    assert caught.value.summary == "Jira rejected the bot's credentials: check JIRA_EMAIL and JIRA_API_TOKEN"
    assert caught.value.detail.startswith("HTTP 403, ") and "login-url" not in caught.value.detail


async def test_a_created_ticket_that_cannot_be_read_back_is_still_reported_created(
    server: JiraServer, backend: JiraTickets
) -> None:
    server.fault("GET", r"/issue/OPS-121$", status=500, times=None)

    ticket = await backend.create_ticket(new_ticket(), reporter=None, via="via test")

    assert ticket.key == "OPS-121"
    assert server.sent("POST", CREATE) == 1


async def test_a_change_that_cannot_be_read_back_says_it_was_made(
    server: JiraServer, backend: JiraTickets
) -> None:
    server.fault("GET", r"/issue/OPS-12$", status=500, times=None)

    with pytest.raises(Unavailable, match="was made.*Do not repeat"):
        await backend.update_ticket("OPS-12", TicketChanges(summary="New title"), actor=None)

    assert server.sent("PUT", r"/issue/OPS-12$") == 1
    assert server.state.issues["OPS-12"]["summary"] == "New title"


async def test_a_removed_issue_between_calls_is_not_found(server: JiraServer, backend: JiraTickets) -> None:
    await backend.get_ticket("OPS-12")
    server.delete_issue("OPS-12")

    with pytest.raises(NotFound, match="OPS-12"):
        await backend.transition_ticket("OPS-12", "Done", actor=None)
