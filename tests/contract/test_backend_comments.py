"""Contract: comments and people behave the same on every backend."""

from __future__ import annotations

import pytest

from bot.errors import InvalidArguments

from .conftest import Harness

RICH_BODY = (
    "Deployed to prod 🚀 — naïve café check passed.\n\n"
    "```python\nprint({'ok': True})\n```\n\n"
    "Runbook: https://wiki.example.com/runbooks/tls?step=2&env=prod"
)


async def test_a_comment_round_trips_unicode_code_blocks_and_links(harness: Harness) -> None:
    ticket = await harness.ticket()

    added = await harness.backend.add_comment(
        ticket.key, RICH_BODY, author=None, via="via Slack by Maya Chen"
    )
    listed = (await harness.backend.list_comments(ticket.key)).comments

    assert RICH_BODY in added.body
    assert [(c.id, c.body) for c in listed] == [(added.id, added.body)]
    assert added.ticket_key == ticket.key


async def test_comments_are_listed_oldest_first_with_a_total(harness: Harness) -> None:
    ticket = await harness.ticket()
    for n in range(3):
        await harness.backend.add_comment(ticket.key, f"note {n}", author=None, via="via test")
        harness.advance(60)

    page = await harness.backend.list_comments(ticket.key)

    assert [c.body.splitlines()[0] for c in page.comments] == ["note 0", "note 1", "note 2"]
    assert page.total == 3
    assert page.comments[0].created < page.comments[-1].created


async def test_comments_can_be_listed_newest_first(harness: Harness) -> None:
    ticket = await harness.ticket()
    for n in range(3):
        await harness.backend.add_comment(ticket.key, f"note {n}", author=None, via="via test")
        harness.advance(60)

    page = await harness.backend.list_comments(ticket.key, limit=2, newest_first=True)

    assert [c.body.splitlines()[0] for c in page.comments] == ["note 2", "note 1"]


async def test_comment_pages_cover_every_comment_once(harness: Harness) -> None:
    ticket = await harness.ticket()
    for n in range(7):
        await harness.backend.add_comment(ticket.key, f"note {n}", author=None, via="via test")

    bodies: list[str] = []
    token: str | None = None
    while True:
        page = await harness.backend.list_comments(ticket.key, limit=3, page_token=token)
        bodies += [c.body.splitlines()[0] for c in page.comments]
        token = page.next_page_token
        if token is None:
            break

    assert bodies == [f"note {n}" for n in range(7)]


async def test_a_comment_counts_on_the_ticket_and_updates_it(harness: Harness) -> None:
    ticket = await harness.ticket()
    harness.advance(600)

    await harness.backend.add_comment(ticket.key, "Looking into it", author=None, via="via test")
    after = await harness.backend.get_ticket(ticket.key)

    assert after.comment_count == 1
    assert after.updated > ticket.updated


async def test_an_empty_comment_is_invalid(harness: Harness) -> None:
    ticket = await harness.ticket()

    with pytest.raises(InvalidArguments):
        await harness.backend.add_comment(ticket.key, "   ", author=None, via="via test")


async def test_people_are_found_by_partial_name_in_any_case(harness: Harness) -> None:
    maya = harness.add_person("Maya Chen", "maya@example.com")
    harness.add_person("Leo Park", "leo@example.com")

    found = await harness.backend.find_people("mAyA")

    assert [p.id for p in found] == [maya.id]


async def test_people_are_found_by_email(harness: Harness) -> None:
    harness.add_person("Maya Chen", "maya@example.com")
    leo = harness.add_person("Leo Park", "leo@example.com")

    assert [p.id for p in await harness.backend.find_people("leo@example.com")] == [leo.id]


async def test_a_persons_id_finds_exactly_them(harness: Harness) -> None:
    harness.add_person("Maya Chen", "maya@example.com")
    leo = harness.add_person("Leo Park", "leo@example.com")

    assert await harness.backend.find_people(leo.id) == [leo]


async def test_a_name_shared_by_two_people_finds_both(harness: Harness) -> None:
    harness.add_person("Sam Ortiz", "sam.ortiz@example.com")
    harness.add_person("Sam Lee", "sam.lee@example.com")

    assert sorted(p.name for p in await harness.backend.find_people("sam")) == ["Sam Lee", "Sam Ortiz"]


async def test_a_slack_user_maps_to_the_person_with_their_email(harness: Harness) -> None:
    priya = harness.add_person("Priya Nair", "priya@example.com")

    found = await harness.backend.person_for_user(slack_user_id="U0PRIYA", email="Priya@Example.com")

    assert found is not None and found.id == priya.id


async def test_a_slack_user_without_a_match_maps_to_nobody(harness: Harness) -> None:
    harness.add_person("Priya Nair", "priya@example.com")

    assert await harness.backend.person_for_user(slack_user_id="U0STRANGER", email="who@example.com") is None
    assert await harness.backend.person_for_user(slack_user_id="U0STRANGER", email=None) is None
