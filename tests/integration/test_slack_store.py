"""The Slack surface's storage: delivery claims (dedupe across processes) and the Slack user cache."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.storage.db import Database, make_engine
from bot.storage.events import DeliveryTaken, event_key, message_key
from bot.storage.migrations import migrate
from bot.storage.store import Store
from tests.conftest import FixedClock


async def _store(database: Database, clock: FixedClock) -> Store:
    await migrate(database)
    return Store(database, clock=clock)


async def test_a_delivery_is_claimed_once(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    keys = [event_key("T1", "Ev1"), message_key("T1", "C1", "1.000001")]
    assert await store.claim_delivery(keys) is True
    assert await store.claim_delivery(keys) is False


async def test_a_retry_with_the_same_event_id_is_refused(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    assert await store.claim_delivery([event_key("T1", "Ev1"), message_key("T1", "C1", "1.1")])
    assert not await store.claim_delivery([event_key("T1", "Ev1"), message_key("T1", "C1", "1.1")])


async def test_the_second_event_for_the_same_message_is_refused(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    assert await store.claim_delivery([event_key("T1", "EvMention"), message_key("T1", "C1", "1.1")])
    assert not await store.claim_delivery([event_key("T1", "EvMessage"), message_key("T1", "C1", "1.1")])


async def test_a_refused_claim_stores_nothing(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    assert await store.claim_delivery([message_key("T1", "C1", "1.1")])
    assert not await store.claim_delivery([event_key("T1", "EvNew"), message_key("T1", "C1", "1.1")])
    # EvNew was rolled back with the refused claim, so a later message with that id is still new
    assert await store.claim_delivery([event_key("T1", "EvNew"), message_key("T1", "C1", "2.2")])


async def test_a_turn_started_with_its_delivery_claim_holds_the_claim(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    keys = [event_key("T1", "Ev1"), message_key("T1", "C1", "1.1")]
    await store.begin_turn(team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1", turn_id="t1", claim=keys)
    assert await store.get_turn("t1") is not None
    assert not await store.claim_delivery(keys)


async def test_a_turn_whose_delivery_was_claimed_before_starts_nothing(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    assert await store.claim_delivery([event_key("T1", "EvMention"), message_key("T1", "C1", "1.1")])
    with pytest.raises(DeliveryTaken):
        await store.begin_turn(
            team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1", turn_id="t2",
            claim=[event_key("T1", "EvMessage"), message_key("T1", "C1", "1.1")],
        )
    # rolled back whole: no turn, no conversation, and its event id is still free
    assert await store.get_turn("t2") is None
    assert await store.find_conversation(team_id="T1", channel_id="C1", thread_ts="1.1") is None
    assert await store.claim_delivery([event_key("T1", "EvMessage"), message_key("T1", "C1", "2.2")])


async def test_concurrent_claims_from_two_processes_let_exactly_one_win(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    # a second engine on the same database stands for a second bot process
    if database.is_postgres:
        other_db = database  # the fixture's engine pins a private schema; a pool of 10+ connections races the same
    else:
        other_db = Database(make_engine(str(database.engine.url)))
    other = Store(other_db, clock=clock)
    keys = [event_key("T1", "EvRace"), message_key("T1", "C1", "9.9")]
    results = await asyncio.gather(*[(store if i % 2 else other).claim_delivery(keys) for i in range(12)])
    assert results.count(True) == 1
    if other_db is not database:
        other_db.dispose()


async def test_old_claims_are_forgotten(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    await store.claim_delivery([event_key("T1", "EvOld")])
    clock.advance(3600)
    await store.claim_delivery([event_key("T1", "EvNew")])
    assert await store.forget_deliveries(older_than=clock() - timedelta(minutes=30)) == 1
    assert await store.claim_delivery([event_key("T1", "EvOld")])
    assert not await store.claim_delivery([event_key("T1", "EvNew")])


async def test_a_cached_user_is_served_until_it_is_too_old(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    await store.save_slack_user(user_id="U1", name="Alice Example", email="alice@example.com")
    cached = await store.cached_slack_user("U1", max_age=timedelta(hours=24))
    assert cached is not None and (cached.name, cached.email) == ("Alice Example", "alice@example.com")
    clock.advance(25 * 3600)
    assert await store.cached_slack_user("U1", max_age=timedelta(hours=24)) is None


async def test_refreshing_a_user_updates_name_and_email(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    await store.save_slack_user(user_id="U1", name="Alice", email=None)
    await store.save_slack_user(user_id="U1", name="Alice Example", email="alice@example.com")
    cached = await store.cached_slack_user("U1", max_age=timedelta(hours=1))
    assert cached is not None and cached.email == "alice@example.com"


async def test_recent_conversations_are_the_users_slack_threads_newest_first(database: Database, clock: FixedClock) -> None:
    store = await _store(database, clock)
    for channel, thread in [("C1", "1.1"), ("shell-U1", "2.2"), ("C2", "3.3")]:
        await store.begin_turn(team_id="T1", channel_id=channel, thread_ts=thread, user_id="U1", turn_id=f"turn-{thread}")
        clock.advance(60)
    await store.begin_turn(team_id="T1", channel_id="C3", thread_ts="4.4", user_id="U2", turn_id="turn-other")
    recent = await store.recent_conversations("U1", limit=5)
    assert [(c.channel_id, c.thread_ts) for c in recent] == [("C2", "3.3"), ("C1", "1.1")]
