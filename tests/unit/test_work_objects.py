"""Which URLs are ticket links, and a ticket as a Work Object Task: valid for slack_sdk's models and for Slack's
rules as the fake checks them, with nothing beyond what each audience may see."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import Settings
from bot.slack.work_objects import (
    TICKET_KEY,
    TicketLink,
    answer_ticket_links,
    task_entity,
    ticket_link,
    ticket_page_text,
    unfurl_domains,
)
from integrations.tickets.base import Comment, Person, Ticket
from tests.fakes.slack_agent import entity_problem

JIRA = Settings(_env_file=None, jira_url="https://acme.atlassian.net", jira_pat="pat")  # type: ignore[call-arg]
JIRA_DC = Settings(_env_file=None, jira_url="https://tools.acme.com/jira", jira_pat="pat")  # type: ignore[call-arg]
LOCAL = Settings(_env_file=None, chatops_public_url="https://chatops.acme.io")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("settings", "url", "key"),
    [
        (JIRA, "https://acme.atlassian.net/browse/OPS-12", "OPS-12"),
        (JIRA, "https://ACME.atlassian.net/browse/ops-12?focusedCommentId=10001", "OPS-12"),
        (JIRA, "https://acme.atlassian.net/jira/software/projects/OPS/boards/1?selectedIssue=OPS-7", "OPS-7"),
        (JIRA_DC, "https://tools.acme.com/jira/browse/SEC-3/", "SEC-3"),
        (LOCAL, "https://chatops.acme.io/tickets/OPS-1", "OPS-1"),
        (LOCAL, "https://chatops.acme.io/tickets/ops-1#top", "OPS-1"),
    ],
)
def test_ticket_links_of_the_configured_system_are_recognised(settings: Settings, url: str, key: str) -> None:
    link = ticket_link(url, settings)
    assert link is not None and link.key == key and link.url == url
    assert link.canonical.endswith(f"/{key}") and link.canonical.startswith(settings.jira_url or settings.chatops_public_url or "-")


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (JIRA, "http://acme.atlassian.net/browse/OPS-12"),  # another scheme is another origin
        (JIRA, "https://acme.atlassian.net.evil.io/browse/OPS-12"),
        (JIRA, "https://evil.io/?u=https://acme.atlassian.net/browse/OPS-12"),
        (JIRA, "https://acme.atlassian.net/browse/OPS-0"),
        (JIRA, "https://acme.atlassian.net/browse/OPS-12/../../admin"),
        (JIRA, "https://acme.atlassian.net/browse/<script>"),
        (JIRA_DC, "https://tools.acme.com/browse/OPS-1"),  # outside the context path
        (JIRA, "https://chatops.acme.io/tickets/OPS-1"),  # the local scheme is not Jira's
        (LOCAL, "https://acme.atlassian.net/browse/OPS-12"),
        (LOCAL, "https://chatops.acme.io/tickets/OPS-1/comments"),
        (LOCAL, "https://chatops.acme.io:8443/tickets/OPS-1"),
        (LOCAL, "https://chatops.acme.io/tickets/" + "A" * 30 + "-1"),
        (LOCAL, "https://[::1/tickets/OPS-1"),
        (LOCAL, "javascript:alert(1)"),
        (LOCAL, "https://chatops.acme.io/tickets/OPS-1" + "x" * 3000),
        (LOCAL, None),
        (LOCAL, 12),
        (Settings(_env_file=None), "https://chatops.acme.io/tickets/OPS-1"),  # type: ignore[call-arg]
    ],
)
def test_anything_else_is_not_a_ticket_link(settings: Settings, url: object) -> None:
    assert ticket_link(url, settings) is None


def test_unfurl_domains_come_from_the_settings() -> None:
    assert unfurl_domains(JIRA) == ["acme.atlassian.net"]
    assert unfurl_domains(LOCAL) == ["chatops.acme.io"]
    assert unfurl_domains(Settings(_env_file=None)) == []  # type: ignore[call-arg]


def _ticket(**changes: object) -> Ticket:
    values: dict[str, object] = {
        "key": "OPS-1",
        "project": "OPS",
        "summary": "Rotate TLS certificates <!channel>",
        "description": "Long text. " * 400,
        "status": "In Progress",
        "priority": "High",
        "assignee": Person(id="leo", name="Leo Park"),
        "created": datetime(2026, 11, 1, tzinfo=UTC),
        "updated": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    }
    values.update(changes)
    return Ticket.model_validate(values)


LINK = TicketLink(url="https://chatops.acme.io/tickets/ops-1", key="OPS-1", canonical="https://chatops.acme.io/tickets/OPS-1", system="local")


def test_the_unfurl_entity_carries_the_channel_safe_fields_only() -> None:
    entity = task_entity(_ticket(), LINK, product="chatops")
    assert entity_problem(entity, unfurl=True) is None
    fields = entity["entity_payload"]["fields"]
    assert set(fields) == {"status", "priority", "assignee", "date_created", "date_updated"}
    assert fields["date_updated"]["value"] == int(datetime(2026, 12, 1, 9, 30, tzinfo=UTC).timestamp())
    assert "<!channel>" not in entity["entity_payload"]["attributes"]["title"]["text"]


def test_the_flexpane_entity_adds_a_trimmed_description_and_the_latest_comments() -> None:
    comment = Comment(id="1", ticket_key="OPS-1", author=None, body="ok <!here>", created=datetime(2026, 12, 2, tzinfo=UTC))
    entity = task_entity(_ticket(), LINK, product="chatops", details=True, comments=[comment], unfurl=False)
    assert entity_problem(entity, unfurl=False) is None and "app_unfurl_url" not in entity
    description = entity["entity_payload"]["fields"]["description"]
    assert description["long"] is True and len(description["value"]) <= 1_500
    [field] = entity["entity_payload"]["custom_fields"]
    assert field["value"].startswith("someone (2026-12-02): ok") and "<!here>" not in field["value"]


def test_an_unassigned_ticket_without_priority_or_description_still_makes_a_valid_entity() -> None:
    entity = task_entity(_ticket(assignee=None, priority=None, description="", summary="   "), LINK, product="Jira", details=True)
    assert entity_problem(entity, unfurl=True) is None
    assert entity["entity_payload"]["fields"]["assignee"]["value"] == "Unassigned"
    assert entity["entity_payload"]["attributes"]["title"]["text"] == "OPS-1"


def test_the_ticket_page_says_where_to_ask_and_refuses_non_keys() -> None:
    page = ticket_page_text("sec-1", LOCAL)
    assert page is not None and "SEC-1" in page and "/ticket SEC-1" in page
    assert ticket_page_text("../../etc/passwd", LOCAL) is None
    assert ticket_page_text("OPS-1", JIRA) is None  # with Jira the links are Jira's own


URL_PARTS = st.sampled_from(
    ["https://", "http://", "chatops.acme.io", "acme.atlassian.net", "/tickets/", "/browse/", "OPS-1", "sec-22", "-",
     "?selectedIssue=", "#", "/", "..", "%2F", ":8443", "@", "\\", " ", "\n", "é"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(URL_PARTS, st.text(max_size=8)), max_size=10).map("".join))
def test_any_text_is_either_not_a_link_or_a_well_formed_one_of_the_configured_origin(url: str) -> None:
    for config, base in ((LOCAL, "https://chatops.acme.io/tickets/"), (JIRA, "https://acme.atlassian.net/browse/")):
        link = ticket_link(url, config)
        if link is not None:
            assert link.canonical == base + link.key
            assert link.url == url and link.key == link.key.upper() and "-" in link.key
            assert url.strip().lower().startswith(base.split("/tickets/")[0].split("/browse/")[0].lower())


def test_an_answer_s_tickets_are_its_links_and_bare_keys_in_order_each_once() -> None:
    text = (
        "Start with <https://acme.atlassian.net/browse/ops-3|OPS-3>, then OPS-1 and [OPS-3](https://acme.atlassian.net/browse/OPS-3). "
        "Not https://evil.io/browse/OPS-9, not a/SEC-2 or SEC-2.txt; SEC-1."
    )
    links = answer_ticket_links(text, JIRA)  # OPS-9 sits in another site's path: neither linked nor named
    assert [(link.key, link.canonical) for link in links] == [
        ("OPS-3", "https://acme.atlassian.net/browse/OPS-3"),
        ("OPS-1", "https://acme.atlassian.net/browse/OPS-1"),
        ("SEC-1", "https://acme.atlassian.net/browse/SEC-1"),
    ]
    assert len(answer_ticket_links(" ".join(f"OPS-{n}" for n in range(1, 20)), JIRA)) == 5


def test_bare_keys_name_a_local_ticket_only_when_it_has_a_page() -> None:
    assert [link.canonical for link in answer_ticket_links("OPS-1", LOCAL)] == ["https://chatops.acme.io/tickets/OPS-1"]
    assert answer_ticket_links("OPS-1 and https://chatops.acme.io/tickets/OPS-2", Settings(_env_file=None)) == []  # type: ignore[call-arg]
    assert answer_ticket_links(None, LOCAL) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(URL_PARTS, st.text(max_size=8)), max_size=12).map(" ".join))
def test_any_answer_text_yields_at_most_five_distinct_well_formed_tickets(text: str) -> None:
    for config in (LOCAL, JIRA):
        links = answer_ticket_links(text, config)
        assert len(links) <= 5 and len({link.key for link in links}) == len(links)
        assert all(TICKET_KEY.match(link.key) and link.canonical.endswith("/" + link.key) for link in links)
