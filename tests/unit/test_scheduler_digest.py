"""Rendering a digest: grouped by assignee, most urgent first, escaped, and always within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.scheduler.digest import Digest, DigestItem, Tag, digest_blocks, digest_text, headline
from integrations.tickets.base import Person, Ticket
from tests.fakes.slack_blocks import MAX_BLOCK_TEXT_TOTAL, block_text_length, check_blocks

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _item(
    key: str, *tags: Tag, assignee: str | None = "Maya Chen", summary: str = "Fix it", idle: int = 1
) -> DigestItem:
    ticket = Ticket(
        key=key, project="OPS", summary=summary, status="Blocked" if "blocked" in tags else "To Do",
        priority="Highest" if "high" in tags else "Medium",
        assignee=Person(id=assignee.lower(), name=assignee) if assignee else None,
        created=NOW - timedelta(days=idle), updated=NOW - timedelta(days=idle), url=f"https://jira.example/browse/{key}",
    )  # fmt: skip
    return DigestItem(ticket, tags, idle)


def _digest(groups: dict[str, list[DigestItem]]) -> Digest:
    digest = Digest(project="OPS", now=NOW, since=NOW - timedelta(days=1), stale_days=3, groups=groups)
    for items in groups.values():
        for item in items:
            for tag in item.tags:
                digest.counts[tag] += 1
    return digest


def test_each_ticket_links_to_the_tracker_with_its_reasons() -> None:
    digest = _digest({"Maya Chen": [_item("OPS-7", "stale", "high", idle=9)]})

    [_, headline_block, _, section, footer] = digest_blocks(digest, title="Ops morning")

    assert headline_block["text"]["text"] == "Digest for OPS: 0 new, 1 stale, 0 blocked, 1 high priority."
    assert section["text"]["text"] == (
        "*Maya Chen* (1)\n• <https://jira.example/browse/OPS-7|OPS-7> Fix it — _To Do_ · no update 9d, highest"
    )
    assert footer["elements"][0]["text"].endswith("Ops morning")


def test_ticket_text_cannot_inject_mrkdwn_links_or_mentions() -> None:
    digest = _digest(
        {"<!channel> & co": [_item("OPS-1", "new", summary="<https://evil.example|click> <!here>")]}
    )

    text = digest_blocks(digest)[3]["text"]["text"]

    assert "<https://evil" not in text and "<!here>" not in text and "<!channel>" not in text
    assert "&lt;https://evil.example|click&gt; &lt;!here&gt;" in text and "&amp; co" in text


def test_an_empty_digest_says_nothing_needs_attention() -> None:
    digest = _digest({})

    assert headline(digest) == "Digest for OPS: nothing needs attention."
    assert [b["type"] for b in digest_blocks(digest)] == ["header", "section", "context"]


def test_a_huge_digest_stays_within_slacks_block_limits_and_says_what_was_left_out() -> None:
    long = "Investigate the intermittent failures of the nightly export job " * 3
    groups = {
        f"Person {n:02d}": [_item(f"OPS-{n * 100 + i}", "stale", assignee=f"Person {n:02d}", summary=long) for i in range(30)]
        for n in range(60)
    }  # fmt: skip

    blocks = digest_blocks(_digest(groups))

    assert check_blocks(blocks) is None
    assert block_text_length(blocks) <= MAX_BLOCK_TEXT_TOTAL
    assert "more tickets for" in blocks[-2]["text"]["text"]
    assert all("…and" in b["text"]["text"] for b in blocks[3:-2]), "long lists are cut with a count"


def test_the_preview_text_is_capped_for_an_ephemeral_message() -> None:
    groups = {f"P{n}": [_item(f"OPS-{n}{i}", "new", assignee=f"P{n}") for i in range(15)] for n in range(100)}

    text = digest_text(_digest(groups))

    assert len(text) <= 12_000 and text.startswith("*Digest for OPS: 1500 new")
