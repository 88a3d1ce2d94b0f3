"""Ticket links as Work Objects, end to end: signed `link_shared` / `entity_details_requested` events into the real
Bolt app, the real policy on the demo store (OPS public, SEC private), `chat.unfurl` / `entity.presentDetails`
checked by the fake Slack against Slack's Work Object rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.fakes.slack_agent import entity_details_requested, link_shared
from tests.fakes.slack_payloads import mention, message
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    ALICE_DM,
    BOB,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
    start_bot,
)

BASE = "https://chatops.example.com"


@pytest.fixture(name="bot")
async def fixture_link_bot(
    slack: FakeSlack, model: AnthropicServer, seeded_sqlite: Database, clock: FixedClock
) -> AsyncIterator[SlackBot]:
    """The app on the local store, its ticket pages at BASE/tickets/KEY (ALICE admin, BOB member)."""
    async for harness in start_bot(slack, model, seeded_sqlite, clock, chatops_public_url=BASE):
        yield harness


async def _share(bot: SlackBot, urls: list[str], *, channel: str = OPS_CHANNEL, user: str = ALICE, **extra: Any) -> str:
    ts = bot.slack.post_user_message(channel, user=user, text=" ".join(f"<{u}>" for u in urls))
    assert await bot.send_event(link_shared(channel=channel, user=user, message_ts=ts, urls=urls, **extra)) == 200
    await bot.settle()
    return ts


def _entities(bot: SlackBot) -> list[dict[str, Any]]:
    return [e for call in bot.slack.unfurls for e in call["metadata"]["entities"]]


async def test_a_public_ticket_link_unfurls_as_a_task_with_its_fields(bot: SlackBot) -> None:
    url = f"{BASE}/tickets/ops-1?from=slack"
    ts = await _share(bot, [url])
    [call] = bot.slack.unfurls
    assert (call["channel"], call["ts"]) == (OPS_CHANNEL, ts)
    [entity] = call["metadata"]["entities"]
    assert entity["entity_type"] == "slack#/entities/task"
    assert (entity["app_unfurl_url"], entity["url"], entity["external_ref"]["id"]) == (url, f"{BASE}/tickets/OPS-1", "OPS-1")
    attributes, fields = entity["entity_payload"]["attributes"], entity["entity_payload"]["fields"]
    assert (attributes["display_id"], attributes["title"]["text"]) == ("OPS-1", "Rotate TLS certificates for *.example.com")
    assert (fields["status"]["value"], fields["priority"]["value"]) == ("In Progress", "High")
    assert fields["assignee"]["value"] and isinstance(fields["date_updated"]["value"], int)
    assert "description" not in fields and "custom_fields" not in entity["entity_payload"]  # details only per viewer


async def test_a_private_project_ticket_is_not_unfurled_in_a_public_channel_even_for_an_admin(bot: SlackBot) -> None:
    await _share(bot, [f"{BASE}/tickets/SEC-1"])
    assert bot.slack.calls("chat.unfurl") == []
    await _share(bot, [f"{BASE}/tickets/SEC-1", f"{BASE}/tickets/OPS-2"])
    assert [e["external_ref"]["id"] for e in _entities(bot)] == ["OPS-2"]
    assert "Quarterly access review" not in json.dumps(bot.slack.unfurls)


async def test_the_same_private_ticket_unfurls_in_the_admins_own_dm_with_the_bot(bot: SlackBot) -> None:
    await _share(bot, [f"{BASE}/tickets/SEC-1"], channel=ALICE_DM)
    assert [e["entity_payload"]["attributes"]["title"]["text"] for e in _entities(bot)] == ["Quarterly access review for production"]


async def test_links_in_a_thread_the_bot_answers_unfurl_the_same_way(bot: SlackBot) -> None:
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} hello")
    bot.model.queue(text_reply("Hi."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} hello", ts=asked))
    await bot.settle()
    await _share(bot, [f"{BASE}/tickets/OPS-3", f"{BASE}/tickets/SEC-2"], thread_ts=asked, user=BOB)
    [call] = bot.slack.unfurls
    assert call["channel"] == OPS_CHANNEL and [e["external_ref"]["id"] for e in call["metadata"]["entities"]] == ["OPS-3"]


NAMING_ANSWER = (
    f"[OPS-1]({BASE}/tickets/OPS-1) is in progress; <{BASE}/tickets/sec-1|SEC-1> waits on the audit; OPS-2 and OPS-99999 "
    "are open. UTF-8 only."
)


async def _ask(bot: SlackBot, channel: str, answer: str, **event: Any) -> dict[str, Any]:
    """ALICE (an admin) asks in `channel`; the model answers `answer`; returns the answer's message metadata."""
    asked = bot.slack.post_user_message(channel, user=ALICE, text=f"{MENTION} status?")
    bot.model.queue(text_reply(answer))
    if channel == ALICE_DM:
        await bot.send_event(message(channel=channel, user=ALICE, text="status?", ts=asked))
    else:
        await bot.send_event(mention(channel=channel, user=ALICE, text=f"{MENTION} status?", ts=asked, **event))
    await bot.settle()
    [answer_message] = bot.slack.bot_messages(channel)
    assert answer_message.metadata is not None
    return answer_message.metadata


async def test_an_answer_carries_work_objects_for_the_tickets_it_names_that_its_channel_may_see(bot: SlackBot) -> None:
    metadata = await _ask(bot, OPS_CHANNEL, NAMING_ANSWER)
    assert metadata["event_type"] == "chatops_message"  # still findable as the bot's own message
    entities = metadata["entities"]
    # SEC is private: named by an admin's answer in a public channel it gets no Work Object (the unfurl rule);
    # a ticket that does not exist and a word shaped like a key get none either
    assert [e["external_ref"]["id"] for e in entities] == ["OPS-1", "OPS-2"]
    assert [e["url"] for e in entities] == [f"{BASE}/tickets/OPS-1", f"{BASE}/tickets/OPS-2"]
    assert all(e["entity_type"] == "slack#/entities/task" and "app_unfurl_url" not in e for e in entities)
    assert entities[0]["entity_payload"]["attributes"]["title"]["text"] == "Rotate TLS certificates for *.example.com"
    assert "description" not in entities[0]["entity_payload"]["fields"]  # details only in a viewer's flexpane
    assert "Quarterly access review" not in json.dumps([c.args for c in bot.slack.calls()])


async def test_the_same_answer_in_the_admins_dm_carries_the_private_ticket_too(bot: SlackBot) -> None:
    metadata = await _ask(bot, ALICE_DM, NAMING_ANSWER)
    assert [e["external_ref"]["id"] for e in metadata["entities"]] == ["OPS-1", "SEC-1", "OPS-2"]


async def test_an_answer_naming_no_ticket_carries_no_work_objects(bot: SlackBot) -> None:
    metadata = await _ask(bot, OPS_CHANNEL, "Nothing is blocked right now.")
    assert "entities" not in metadata


async def test_local_store_results_carry_the_tickets_link_so_the_answer_can_link_it(bot: SlackBot) -> None:
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?")
    bot.model.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})]), text_reply("See OPS-1."))
    await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} what is OPS-1?", ts=asked))
    await bot.settle()
    [result] = [b for b in bot.model.bodies()[-1]["messages"][-1]["content"] if b["type"] == "tool_result"]
    body = result["content"]
    assert '"url"' in body and f"{BASE}/tickets/OPS-1" in body


async def test_links_in_the_bots_own_answer_are_not_unfurled_a_second_time(bot: SlackBot) -> None:
    await _share(bot, [f"{BASE}/tickets/OPS-1"], user=bot.slack.BOT_USER_ID)
    assert bot.slack.calls("chat.unfurl") == []
    await _share(bot, [f"{BASE}/tickets/OPS-1"], user=BOB)
    assert [e["external_ref"]["id"] for e in _entities(bot)] == ["OPS-1"]


async def test_unknown_urls_missing_tickets_and_malformed_events_unfurl_nothing(bot: SlackBot) -> None:
    await _share(bot, ["https://evil.example.net/tickets/OPS-1", f"{BASE}/tickets/OPS-99999", f"{BASE}/tickets/../etc",
                       f"{BASE}/browse/OPS-1", "not a url", f"{BASE}/tickets/OPS-1-2"])
    for event in (
        {"type": "link_shared", "channel": OPS_CHANNEL, "user": ALICE, "message_ts": "1.2", "links": "nope"},
        {"type": "link_shared", "channel": OPS_CHANNEL, "user": ALICE, "message_ts": "1.2", "links": [None, 5, {"url": 7}]},
        {"type": "link_shared", "links": [{"url": f"{BASE}/tickets/OPS-1", "domain": "chatops.example.com"}]},
    ):
        assert await bot.send_event(event) == 200
    await bot.settle()
    assert bot.slack.calls("chat.unfurl") == []


async def test_the_flexpane_follows_the_viewers_own_authorization(bot: SlackBot) -> None:
    url = f"{BASE}/tickets/SEC-1"
    await bot.send_event(entity_details_requested(user=ALICE, url=url, external_id="SEC-1", channel=OPS_CHANNEL))
    await bot.send_event(entity_details_requested(user=BOB, url=url, external_id="SEC-1", channel=OPS_CHANNEL))
    await bot.send_event(entity_details_requested(user=BOB, url=f"{BASE}/tickets/OPS-1", external_id="OPS-1"))
    await bot.send_event(entity_details_requested(user=BOB, url=f"{BASE}/tickets/OPS-99999", external_id="OPS-99999"))
    await bot.settle()
    by_ticket = {(d["metadata"]["external_ref"]["id"] if "metadata" in d else d["error"]["status"]) for d in bot.slack.details}
    assert by_ticket == {"SEC-1", "OPS-1", "restricted"} and len(bot.slack.details) == 4
    admin = next(d for d in bot.slack.details if d.get("metadata", {}).get("external_ref", {}).get("id") == "SEC-1")
    payload = admin["metadata"]["entity_payload"]
    assert "12 of 19 teams have confirmed their lists." in payload["custom_fields"][0]["value"]
    assert "app_unfurl_url" not in admin["metadata"]
    restricted = [d for d in bot.slack.details if "error" in d]
    assert len(restricted) == 2 and "Quarterly" not in json.dumps(restricted)  # Bob's SEC-1 and the missing one read alike


async def test_malformed_flexpane_requests_are_ignored(bot: SlackBot) -> None:
    no_trigger = entity_details_requested(user=BOB, url=f"{BASE}/tickets/OPS-1", external_id="OPS-1")
    del no_trigger["trigger_id"]
    contradicting = entity_details_requested(user=BOB, url=f"{BASE}/tickets/OPS-1", external_id="SEC-1")
    unknown = entity_details_requested(user=BOB, url="https://elsewhere.example.org/x/1", external_id="1")
    broken = {"type": "entity_details_requested", "user": BOB, "link": "x", "trigger_id": ["t"], "entity_url": 7}
    for event in (no_trigger, contradicting, unknown, broken):
        assert await bot.send_event(event) == 200
    await bot.settle()
    assert bot.slack.calls("entity.presentDetails") == []


async def test_the_ticket_page_names_no_ticket_content(bot: SlackBot) -> None:
    async with bot.session.get(f"{bot.url}/tickets/SEC-1") as resp:
        assert resp.status == 200
        body = await resp.text()
    assert "SEC-1" in body and "Quarterly" not in body and "/ticket SEC-1" in body
    async with bot.session.get(f"{bot.url}/tickets/not-a-key") as resp:
        assert resp.status == 404
