"""Pending approvals in the database: each is decided once, an expired one never runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.storage.db import Database
from bot.storage.migrations import migrate
from bot.storage.store import Store
from bot.storage.tables import PendingApprovalRow
from tests.conftest import FixedClock


@pytest.fixture
async def store(database: Database, clock: FixedClock) -> AsyncIterator[Store]:
    await migrate(database)
    yield Store(database, clock=clock)


async def pending(store: Store, **overrides: object) -> PendingApprovalRow:
    fields: dict[str, object] = {
        "conversation_id": "conv-1",
        "turn_id": "turn-1",
        "tool": "add_comment",
        "tool_use_id": "toolu_1",
        "arguments": {"key": "OPS-12", "body": "Deployed the fix"},
        "requester_id": "U0MAYA",
        "channel_id": "C0OPS",
        "thread_ts": "1700000000.000100",
        "ttl": timedelta(minutes=60),
        "state": {"messages": []},
    }
    fields.update(overrides)
    return await store.create_approval(**fields)  # type: ignore[arg-type]


async def test_a_new_approval_is_pending_until_its_expiry_time(store: Store, clock: FixedClock) -> None:
    row = await pending(store)
    loaded = await store.get_approval(row.id)
    assert loaded is not None
    assert loaded.status == "pending"
    assert loaded.arguments == {"key": "OPS-12", "body": "Deployed the fix"}
    assert loaded.expires_at == clock() + timedelta(minutes=60)


async def test_approving_twice_claims_once(store: Store) -> None:
    row = await pending(store)
    first = await store.claim_approval(row.id, approved=True, decided_by="U0MAYA")
    second = await store.claim_approval(row.id, approved=True, decided_by="U0MAYA")
    assert first is not None and first.status == "approved" and first.decided_by == "U0MAYA"
    assert second is None


async def test_concurrent_claims_from_two_stores_let_exactly_one_through(database: Database, clock: FixedClock) -> None:
    await migrate(database)
    one, two = Store(database, clock=clock), Store(database, clock=clock)
    row = await pending(one)
    results = await asyncio.gather(
        *(s.claim_approval(row.id, approved=True, decided_by="U0MAYA") for s in (one, two, one, two))
    )
    assert sum(r is not None for r in results) == 1


async def test_a_cancelled_approval_cannot_be_approved_afterwards(store: Store) -> None:
    row = await pending(store)
    cancelled = await store.claim_approval(row.id, approved=False, decided_by="U0MAYA")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert await store.claim_approval(row.id, approved=True, decided_by="U0ADMIN") is None


async def test_an_expired_approval_can_be_declined_but_never_approved(store: Store, clock: FixedClock) -> None:
    row = await pending(store)
    clock.advance(60 * 60)
    assert await store.claim_approval(row.id, approved=True, decided_by="U0MAYA") is None
    declined = await store.claim_approval(row.id, approved=False, decided_by="timeout")
    assert declined is not None and declined.status == "expired"


async def test_only_overdue_pending_approvals_are_listed_as_expired(store: Store, clock: FixedClock) -> None:
    early = await pending(store, ttl=timedelta(minutes=5))
    await pending(store, ttl=timedelta(minutes=60))
    decided = await pending(store, ttl=timedelta(minutes=5))
    await store.claim_approval(decided.id, approved=False, decided_by="U0MAYA")
    clock.advance(10 * 60)
    assert [r.id for r in await store.list_expired_approvals()] == [early.id]


async def test_the_sweep_expires_each_overdue_approval_once(store: Store, clock: FixedClock) -> None:
    row = await pending(store, ttl=timedelta(minutes=5))
    assert await store.expire_approval(row.id) is None  # not overdue yet
    clock.advance(5 * 60)
    expired = await store.expire_approval(row.id)
    assert expired is not None and expired.status == "expired" and expired.decided_by == "timeout"
    assert await store.expire_approval(row.id) is None


async def test_finishing_records_how_the_approved_call_ended(store: Store) -> None:
    row = await pending(store)
    assert await store.finish_approval(row.id, ok=True) is False  # still pending: nothing ran
    await store.claim_approval(row.id, approved=True, decided_by="U0MAYA")
    assert await store.finish_approval(row.id, ok=True) is True
    loaded = await store.get_approval(row.id)
    assert loaded is not None and loaded.status == "done"


async def test_the_message_carrying_the_buttons_is_remembered(store: Store) -> None:
    row = await pending(store)
    await store.set_approval_message(row.id, "1700000001.000200")
    loaded = await store.get_approval(row.id)
    assert loaded is not None and loaded.message_ts == "1700000001.000200"


async def test_a_pending_approval_is_still_there_for_a_new_process(database: Database, clock: FixedClock) -> None:
    await migrate(database)
    row = await pending(Store(database, clock=clock))
    fresh = Database(database.engine)  # a new Database/Store over the same engine, as after a restart
    assert [r.id for r in await Store(fresh, clock=clock).list_pending_approvals()] == [row.id]
