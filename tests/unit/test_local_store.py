"""The local store's own behaviour beyond the backend contract: history, attribution, identity, validation,
tokens and write serialisation (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC

import pytest
from sqlmodel import Session

from bot.errors import InvalidArguments, NotFound
from bot.storage.db import Database
from bot.storage.migrations import migrate
from integrations.tickets.base import NewTicket, Person, TicketChanges, TicketQuery
from integrations.tickets.local import LocalTickets, add_person, add_project
from tests.conftest import FixedClock

MAYA = Person(id="maya", name="Maya Chen", email="maya@example.com")


@pytest.fixture
async def store(database: Database, clock: FixedClock) -> LocalTickets:
    await migrate(database)

    def setup(s: Session) -> None:
        add_project(s, key="OPS", name="Operations", at=clock())
        add_person(s, id="maya", name="Maya Chen", email="maya@example.com", slack_user_id="U0MAYA")
        add_person(s, id="maya2", name="Maya Chen (contractor)", email="maya.c@example.com")
        add_person(s, id="leo", name="Leo Park", email="leo@example.com")

    database.run_sync(setup)
    return LocalTickets(database, clock=clock)


async def create(store: LocalTickets, summary: str = "Rotate certificates", **fields: object) -> str:
    new = NewTicket(project="OPS", summary=summary, **fields)  # type: ignore[arg-type]
    return (await store.create_ticket(new, reporter=MAYA, via="via Slack by Maya Chen")).key


async def test_timestamps_come_from_the_clock_as_aware_utc(store: LocalTickets, clock: FixedClock) -> None:
    ticket = await store.get_ticket(await create(store))

    assert ticket.created == clock.now
    assert ticket.created.tzinfo is not None and ticket.created.utcoffset() == UTC.utcoffset(None)


async def test_every_write_leaves_a_history_row_with_author_and_time(
    store: LocalTickets, clock: FixedClock
) -> None:
    key = await create(store, priority="Low")
    clock.advance(60)
    await store.update_ticket(key, TicketChanges(priority="High", labels=("tls", "prod")), actor=MAYA)
    clock.advance(60)
    await store.assign_ticket(key, "leo", actor=MAYA)
    clock.advance(60)
    await store.transition_ticket(key, "In Progress", actor=MAYA)

    rows = [
        (c.field, c.from_value, c.to_value, c.author and c.author.id, c.at) for c in await store.history(key)
    ]

    start = rows[0][4]
    assert rows == [
        ("created", None, "via Slack by Maya Chen", "maya", start),
        ("priority", "Low", "High", "maya", start.replace(minute=31)),
        ("labels", "", "tls, prod", "maya", start.replace(minute=31)),
        ("assignee", None, "Leo Park", "maya", start.replace(minute=32)),
        ("status", "To Do", "In Progress", "maya", start.replace(minute=33)),
    ]


async def test_an_update_that_changes_nothing_leaves_no_trace(store: LocalTickets, clock: FixedClock) -> None:
    key = await create(store, priority="Low")
    before = await store.get_ticket(key)
    clock.advance(60)

    after = await store.update_ticket(key, TicketChanges(priority="low"), actor=MAYA)

    assert after.updated == before.updated
    assert [c.field for c in await store.history(key)] == ["created"]


async def test_a_comment_by_a_known_person_keeps_its_text_and_author(store: LocalTickets) -> None:
    key = await create(store)

    comment = await store.add_comment(key, "On it.", author=MAYA, via="via Slack by Maya Chen")

    assert comment.body == "On it."
    assert comment.author == MAYA


async def test_a_comment_without_a_person_carries_the_attribution_in_its_text(store: LocalTickets) -> None:
    key = await create(store)

    comment = await store.add_comment(key, "On it.", author=None, via="via Slack by U0STRANGER")

    assert comment.body == "On it.\n\n_via Slack by U0STRANGER_"
    assert comment.author is None


async def test_a_linked_slack_id_wins_over_the_email(store: LocalTickets) -> None:
    found = await store.person_for_user(slack_user_id="U0MAYA", email="leo@example.com")

    assert found is not None and found.id == "maya"


async def test_a_people_search_matches_an_exact_id(store: LocalTickets) -> None:
    assert [p.id for p in await store.find_people("leo")] == ["leo"]
    assert [p.id for p in await store.find_people("maya")] == ["maya", "maya2"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"summary": "x" * 256}, "summary"),
        ({"summary": "two\nlines"}, "summary"),
        ({"labels": ("has space",)}, "label"),
        ({"issue_type": "Saga"}, "issue type"),
    ],
)
async def test_bad_values_are_invalid_and_consume_no_key(
    store: LocalTickets, fields: dict[str, object], message: str
) -> None:
    fields = dict(fields)
    summary = str(fields.pop("summary", "Rotate certificates"))

    with pytest.raises(InvalidArguments, match=message):
        await create(store, summary, **fields)

    assert await create(store) == "OPS-1"


async def test_an_unknown_assignee_on_create_is_not_found_and_creates_nothing(store: LocalTickets) -> None:
    with pytest.raises(NotFound, match="ghost"):
        await create(store, assignee_id="ghost")

    assert (await store.search_tickets(TicketQuery())).tickets == ()


async def test_text_search_also_finds_words_in_comments(store: LocalTickets) -> None:
    key = await create(store)
    await create(store, "Something else")
    await store.add_comment(key, "The HSM firmware needs an update first", author=MAYA, via="via test")

    page = await store.search_tickets(TicketQuery(text="hsm firmware"))

    assert [t.key for t in page.tickets] == [key]


async def test_a_page_token_from_another_search_is_refused(store: LocalTickets) -> None:
    for n in range(3):
        await create(store, f"Ticket {n}")
    page = await store.search_tickets(TicketQuery(limit=1, order_by="key"))
    assert page.next_page_token

    with pytest.raises(InvalidArguments, match="different search"):
        await store.search_tickets(TicketQuery(limit=1, order_by="created"), page_token=page.next_page_token)


async def test_a_tampered_page_token_is_refused_before_any_sql(store: LocalTickets) -> None:
    forged = {"k": "search", "after": ["x'; DROP TABLE tickets; --", "OPS", "1"]}
    page = await store.search_tickets(TicketQuery(limit=1, order_by="updated"))
    token_payload = (
        json.loads(base64.urlsafe_b64decode(page.next_page_token + "==")) if page.next_page_token else {}
    )
    forged["q"] = token_payload.get("q", "")
    token = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()

    with pytest.raises(InvalidArguments, match="page_token"):
        await store.search_tickets(TicketQuery(limit=1, order_by="updated"), page_token=token)


async def test_two_concurrent_moves_to_done_apply_once(store: LocalTickets) -> None:
    key = await create(store)

    results = await asyncio.gather(
        *(store.transition_ticket(key, "Done", actor=MAYA) for _ in range(4)), return_exceptions=True
    )

    # The first applies; the others find it already Done, a no-op: one status change in the history.
    assert not [r for r in results if isinstance(r, BaseException)]
    assert [c.to_value for c in await store.history(key) if c.field == "status"] == ["Done"]


async def test_transitions_accept_the_transition_id(store: LocalTickets) -> None:
    key = await create(store)
    [start] = [t for t in await store.list_transitions(key) if t.to_status == "In Progress"]

    moved = await store.transition_ticket(key, start.id, actor=MAYA)

    assert moved.status == "In Progress"


async def test_moving_to_the_current_status_changes_nothing(store: LocalTickets) -> None:
    key = await create(store)
    before = await store.get_ticket(key)

    after = await store.transition_ticket(key, "to do", actor=MAYA)

    assert after == before
    assert [c for c in await store.history(key) if c.field == "status"] == []


async def test_a_project_key_jira_accepts_is_accepted_and_its_tickets_are_keyed_by_it(
    store: LocalTickets, database: Database, clock: FixedClock
) -> None:
    database.run_sync(lambda s: add_project(s, key="SAMPLE_PROJECT", name="Data Center sample", at=clock()))
    new = NewTicket(project="SAMPLE_PROJECT", summary="Check the sample")
    assert (await store.create_ticket(new, reporter=MAYA, via="via Slack")).key == "SAMPLE_PROJECT-1"


@pytest.mark.parametrize("key", ["ops", "1OPS", "O", "OPS-1", "A" * 21])
async def test_a_project_key_that_is_not_one_or_does_not_fit_the_column_is_refused(
    store: LocalTickets, database: Database, clock: FixedClock, key: str
) -> None:
    with pytest.raises(InvalidArguments, match="project key"):
        database.run_sync(lambda s: add_project(s, key=key, name="x", at=clock()))
