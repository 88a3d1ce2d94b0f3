"""Jira backend figures against the local fake Jira (prints, never asserts).

- latency the backend adds per call over the raw HTTP round trip (same request, plain `requests`);
- HTTP requests per search (one for <= 50 results once warm);
- 429 storms: writes sent once each, reads finishing after Retry-After, many at once.

Run: `python -m benchmarks.jira_bench` from the repository root.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import requests

from integrations.tickets.base import NewTicket, TicketQuery
from integrations.tickets.jira import JiraTickets
from integrations.tickets.jira_client import JiraClient
from integrations.tickets.jira_search import SEARCH_FIELDS, TICKET_FIELDS, build_jql
from tests.fakes.jira_server import JiraServer

ROUNDS = 300
CUSTOM = ("customfield_10016", "customfield_10020", "customfield_10014")


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


def _backend(server: JiraServer, *, retries: int = 3, retry_max: float = 10.0) -> JiraTickets:
    client = JiraClient(
        url=server.url,
        email=server.email,
        api_token=server.api_token,
        timeout_seconds=10,
        max_read_retries=retries,
        retry_max_seconds=retry_max,
    )
    return JiraTickets(client=client)


async def _paired(
    session: requests.Session,
    url: str,
    params: dict[str, str | list[str]],
    call: Callable[[], Awaitable[object]],
) -> tuple[list[float], list[float]]:
    """Alternate the raw request and the backend call, so both see the same server conditions."""
    raw: list[float] = []
    ours: list[float] = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        session.get(url, params=params, timeout=10).json()
        raw.append(time.perf_counter() - start)
        start = time.perf_counter()
        await call()
        ours.append(time.perf_counter() - start)
    return raw, ours


async def latency(server: JiraServer) -> None:
    """Backend call vs the same HTTP request sent raw."""
    backend = _backend(server)
    await backend.get_ticket("OPS-12")  # warm: client, serverInfo, field discovery
    session = requests.Session()
    session.auth = (server.email, server.api_token)
    issue_url = f"{server.url}/rest/api/2/issue/OPS-12"
    fields = ",".join(TICKET_FIELDS + ("parent",) + CUSTOM)
    raw_get, get = await _paired(session, issue_url, {"fields": fields}, lambda: backend.get_ticket("OPS-12"))
    query = TicketQuery(projects=("OPS",), limit=50)
    search_params: dict[str, str | list[str]] = {
        "jql": build_jql(query),
        "maxResults": "50",
        "fields": [*SEARCH_FIELDS, "parent", *CUSTOM],
    }
    search_url = f"{server.url}/rest/api/2/search/jql"
    raw_search, search = await _paired(
        session, search_url, search_params, lambda: backend.search_tickets(query)
    )
    print(f"Latency (fake Jira on localhost, {ROUNDS} rounds each)")
    print(f"  get_ticket      raw HTTP {_ms(raw_get)}   backend {_ms(get)}")
    print(f"  search 50       raw HTTP {_ms(raw_search)}   backend {_ms(search)}")
    added_get = (statistics.median(get) - statistics.median(raw_get)) * 1000
    added_search = (statistics.median(search) - statistics.median(raw_search)) * 1000
    print(
        f"  added per call (p50): get_ticket {added_get:+.2f} ms, search of 50 {added_search:+.2f} ms (target < 5 ms)"
    )
    session.close()
    await backend.aclose()


async def requests_per_search(server: JiraServer) -> None:
    """How many HTTP requests a search costs, cold and warm."""
    backend = _backend(server)
    print("Requests per search_tickets call")
    for label, limit in (("cold, 10", 10), ("warm, 10", 10), ("warm, 50", 50), ("warm, 100", 100)):
        before = len(server.requests)
        page = await backend.search_tickets(TicketQuery(projects=("OPS",), limit=limit))
        paths = [r.path.rsplit("/", 1)[-1] for r in server.requests[before:]]
        print(f"  {label:10} -> {len(page.tickets):3} tickets in {len(paths)} request(s): {', '.join(paths)}")
    await backend.aclose()


async def storms() -> None:
    """429 storms on writes and reads (real Retry-After waits)."""
    with JiraServer() as server:
        backend = _backend(server)
        await backend.client.connect()
        server.fault("POST", r"/rest/api/2/issue$", status=429, retry_after="1", times=None)
        attempts = 20
        start = time.perf_counter()
        results = await asyncio.gather(
            *(
                backend.create_ticket(
                    NewTicket(project="OPS", summary=f"storm {n}"), reporter=None, via="bench"
                )
                for n in range(attempts)
            ),
            return_exceptions=True,
        )
        took = time.perf_counter() - start
        posts = server.sent("POST", r"/rest/api/2/issue$")
        limited = sum(type(r).__name__ == "RateLimited" for r in results)
        print("429 storm on writes")
        print(
            f"  {attempts} concurrent creates -> {posts} POSTs sent, {limited} RateLimited answers, "
            f"{len(server.state.issues) - 120} created, all answered in {took * 1000:.0f} ms"
        )

        server.fault("GET", r"/search/jql$", status=429, retry_after="1", times=20)
        start = time.perf_counter()
        pages = await asyncio.gather(
            *(backend.search_tickets(TicketQuery(projects=("OPS",), limit=10)) for _ in range(20))
        )
        took = time.perf_counter() - start
        print("429 storm on reads (Retry-After: 1, first 20 requests refused)")
        print(
            f"  20 concurrent searches -> {sum(len(p.tickets) == 10 for p in pages)} succeeded, "
            f"{server.sent('GET', r'/search/jql$')} requests, finished after {took:.2f} s"
        )

        server.fault("GET", r"/issue/OPS-12$", status=429, retry_after="1", times=2)
        start = time.perf_counter()
        await backend.get_ticket("OPS-12")
        print(
            f"  one read refused twice -> succeeded after {time.perf_counter() - start:.2f} s "
            f"({server.sent('GET', r'/issue/OPS-12$')} requests)"
        )
        await backend.aclose()


async def _main() -> None:
    with JiraServer() as server:
        await latency(server)
    with JiraServer() as server:
        await requests_per_search(server)
    await storms()


def main() -> None:
    """Print the Jira backend figures."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
