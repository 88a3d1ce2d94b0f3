"""Contract: list_comments and add_comment behave the same on every backend: the newest comments shown in time
order, paging to older ones, capping, and comments credited to the asker."""

from __future__ import annotations

import json

import pytest

from bot.errors import NotFound
from tests.unit.ticket_world import MAYA, STRANGER, World, call

from .conftest import backends


async def with_comments(world: World, count: int, body: str = "note {n}") -> str:
    key = await world.ticket()
    for n in range(count):
        world.clock.advance(60)
        await world.comment(key, body.format(n=n), by="leo")
    return key


async def test_the_newest_comments_come_in_time_order_with_the_total(world: World) -> None:
    key = await with_comments(world, 5)

    result = await call(world.context(), "list_comments", key=key, limit=2)

    assert result["total"] == 5
    assert [c["body"] for c in result["comments"]] == ["note 3", "note 4"]
    assert result["comments"][0] == {"id": result["comments"][0]["id"], "author": "Leo Park",
                                     "created": "2026-11-18 14:34", "body": "note 3"}  # fmt: skip


async def test_older_comments_come_with_the_older_page_token(world: World) -> None:
    key = await with_comments(world, 5)
    ctx = world.context()

    newest = await call(ctx, "list_comments", key=key, limit=3)
    older = await call(ctx, "list_comments", key=key, limit=3, page_token=newest["older_page_token"])

    assert [c["body"] for c in older["comments"] + newest["comments"]] == [f"note {n}" for n in range(5)]
    assert "older_page_token" not in older


async def test_a_result_over_budget_drops_the_oldest_comments_first(world: World) -> None:
    world.reconfigure(chatops_max_result_chars=2000)
    key = await with_comments(world, 10, body="note {n} " + "x" * 400)

    result = await call(world.context(), "list_comments", key=key, limit=10)

    bodies = [c["body"].split()[1] for c in result["comments"]]
    assert len(json.dumps(result, separators=(",", ":"))) <= 2000
    assert bodies == [str(n) for n in range(10 - len(bodies), 10)]
    assert result["note"].startswith(f"Showing {len(bodies)} of 10.")


async def test_an_added_comment_is_listed_with_the_askers_words(world: World) -> None:
    key = await world.ticket()

    result = await call(world.context(MAYA), "add_comment", key=key, body="Deployed the fix to **staging**.")

    [listed] = (await call(world.context(), "list_comments", key=key))["comments"]
    assert (result["key"], result["comment_id"], result["author"]) == (key, listed["id"], listed["author"])
    assert listed["body"].startswith("Deployed the fix to **staging**.")


async def test_markdown_and_unicode_in_a_comment_survive_the_round_trip(world: World) -> None:
    key = await world.ticket()
    body = "Zoë saw it in **prod** ✅\n\n```\nkubectl rollout undo deploy/api\n```\n\nSee [the log](https://example.com/log)."

    await call(world.context(MAYA), "add_comment", key=key, body=body)

    [listed] = (await call(world.context(), "list_comments", key=key))["comments"]
    assert listed["body"].startswith(body)


@backends("local", "local-postgres")
async def test_the_local_store_posts_as_the_askers_person(world: World) -> None:
    key = await world.ticket()

    await call(world.context(MAYA), "add_comment", key=key, body="Deployed the fix to staging.")

    [comment] = (await world.tickets.list_comments(key)).comments
    assert (comment.author, comment.body) == (world.person("maya"), "Deployed the fix to staging.")


@backends("jira", "jira-dc")
async def test_jira_posts_as_the_bot_with_a_line_naming_the_asker(world: World) -> None:
    key = await world.ticket()

    result = await call(world.context(MAYA), "add_comment", key=key, body="Deployed the fix to staging.")

    [comment] = (await world.tickets.list_comments(key)).comments
    assert result["author"] == "ChatOps Bot"
    assert comment.body == "Deployed the fix to staging.\n\n_via Slack by Maya Chen_"


async def test_a_comment_by_an_unmapped_asker_carries_their_name(world: World) -> None:
    key = await world.ticket()

    await call(world.context(STRANGER), "add_comment", key=key, body="Seen this too.")

    [comment] = (await world.tickets.list_comments(key)).comments
    assert comment.body.startswith("Seen this too.")
    assert "via Slack by Visitor" in comment.body


async def test_comments_of_a_hidden_ticket_are_not_found(world: World) -> None:
    secret = await world.ticket(project="SEC")

    with pytest.raises(NotFound):
        await call(world.context(visible={"OPS"}), "list_comments", key=secret)
