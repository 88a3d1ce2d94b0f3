"""The demo seed: realistic, dated relative to now, written once into an empty store even on racing starts."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from bot.storage.db import Database
from bot.storage.migrations import migrate
from integrations.tickets.base import Ticket, TicketQuery
from integrations.tickets.local import LocalTickets, add_project
from integrations.tickets.seed import seed_demo
from tests.conftest import FixedClock


@pytest.fixture
async def db(database: Database) -> Database:
    await migrate(database)
    return database


async def all_tickets(store: LocalTickets) -> list[Ticket]:
    page = await store.search_tickets(TicketQuery(limit=100, order_by="key", descending=False))
    assert page.next_page_token is None
    return list(page.tickets)


async def test_an_empty_store_gets_the_ops_and_private_sec_projects(db: Database, clock: FixedClock) -> None:
    assert await seed_demo(db, now=clock()) is True

    projects = {p.key: p for p in await LocalTickets(db, clock=clock).list_projects()}

    assert (projects["OPS"].name, projects["OPS"].private) == ("Operations", False)
    assert (projects["SEC"].name, projects["SEC"].private) == ("Security", True)


async def test_the_demo_covers_statuses_priorities_people_and_projects(
    db: Database, clock: FixedClock
) -> None:
    await seed_demo(db, now=clock())

    tickets = await all_tickets(LocalTickets(db, clock=clock))

    assert 20 <= len(tickets) <= 30
    assert set(Counter(t.status for t in tickets)) == {"To Do", "In Progress", "In Review", "Blocked", "Done"}
    assert {"Highest", "High", "Medium", "Low", "Lowest"} <= {t.priority for t in tickets}
    assert {"Maya Chen", "Leo Park", "Priya Nair", "Sam Ortiz"} <= {
        t.assignee.name for t in tickets if t.assignee
    }
    assert any(t.assignee is None for t in tickets)
    assert {t.project for t in tickets} == {"OPS", "SEC"}
    assert any(t.labels for t in tickets)


async def test_demo_dates_are_relative_to_now_with_stale_and_fresh_work(
    db: Database, clock: FixedClock
) -> None:
    await seed_demo(db, now=clock())

    tickets = await all_tickets(LocalTickets(db, clock=clock))
    week_ago = clock() - timedelta(days=7)
    open_tickets = [t for t in tickets if t.status_category != "done"]

    assert all(t.created <= t.updated <= clock() for t in tickets)
    assert sum(t.updated < week_ago for t in open_tickets) >= 3
    assert sum(t.updated >= clock() - timedelta(days=1) for t in open_tickets) >= 2
    assert any(t.status == "Blocked" and t.priority in ("High", "Highest") for t in tickets)


async def test_the_demo_has_history_and_one_long_comment_thread(db: Database, clock: FixedClock) -> None:
    await seed_demo(db, now=clock())
    store = LocalTickets(db, clock=clock)

    tickets = await all_tickets(store)
    busiest = max(tickets, key=lambda t: t.comment_count)

    assert busiest.comment_count > 20
    assert sum(t.comment_count > 0 for t in tickets) >= 10
    assert "status" in {c.field for c in await store.history(busiest.key)}


async def test_seeding_twice_changes_nothing(db: Database, clock: FixedClock) -> None:
    await seed_demo(db, now=clock())
    store = LocalTickets(db, clock=clock)
    before = await all_tickets(store)
    clock.advance(86400)

    assert await seed_demo(db, now=clock()) is False
    assert await all_tickets(store) == before


async def test_a_store_with_its_own_data_is_never_seeded(db: Database, clock: FixedClock) -> None:
    db.run_sync(lambda s: add_project(s, key="ACME", name="Acme", at=clock()))

    assert await seed_demo(db, now=clock()) is False
    assert [p.key for p in await LocalTickets(db, clock=clock).list_projects()] == ["ACME"]


async def test_concurrent_starts_seed_exactly_once(db: Database, clock: FixedClock) -> None:
    results = await asyncio.gather(*(seed_demo(db, now=clock()) for _ in range(3)))

    assert sorted(results) == [False, False, True]
    keys = [t.key for t in await all_tickets(LocalTickets(db, clock=clock))]
    assert len(keys) == len(set(keys))
    assert "OPS-21" not in keys
