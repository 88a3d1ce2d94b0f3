"""The Jira backend, through the real `jira` package over HTTP, against the fake Jira (Cloud and Data Center)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.errors import BackendPermissionMissing, Conflict, InvalidArguments, NotFound, PermissionDenied
from integrations.tickets.base import NewTicket, TicketChanges, TicketQuery
from integrations.tickets.jira import JiraTickets
from integrations.tickets.jira_search import SEARCH_FIELDS, TICKET_FIELDS
from tests.fakes import jira_jql
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_seed import PEOPLE
from tests.fakes.jira_server import JiraServer

MAYA, LEO = PEOPLE[0], PEOPLE[1]
CUSTOM_FIELDS = {"customfield_10016", "customfield_10020", "customfield_10014"}


@pytest.fixture(params=["Cloud", "Server"])
def server(request: pytest.FixtureRequest) -> Iterator[JiraServer]:
    """The seeded fake Jira, in each deployment mode."""
    with JiraServer(deployment=request.param) as fake:
        yield fake


@pytest.fixture
def cloud() -> Iterator[JiraServer]:
    """The seeded fake Jira in Cloud mode."""
    with JiraServer() as fake:
        yield fake


@pytest.fixture
async def backend(server: JiraServer) -> AsyncIterator[JiraTickets]:
    tickets = jira_backend(server)
    yield tickets
    await tickets.aclose()


@pytest.fixture
async def cloud_backend(cloud: JiraServer) -> AsyncIterator[JiraTickets]:
    tickets = jira_backend(cloud)
    yield tickets
    await tickets.aclose()


def ident(server: JiraServer, person: dict[str, str]) -> str:
    """How the deployment names a person: accountId on Cloud, username on Data Center."""
    return person["accountId"] if server.state.cloud else person["name"]


def last(server: JiraServer, method: str, suffix: str):  # type: ignore[no-untyped-def]
    """The last recorded request with this method whose path ends with `suffix`."""
    return [r for r in server.requests if r.method == method and r.path.endswith(suffix)][-1]


# ---------------------------------------------------------------- reading


async def test_a_ticket_reads_with_people_status_markdown_and_custom_fields(
    server: JiraServer, backend: JiraTickets
) -> None:
    ticket = await backend.get_ticket("ops-12")

    assert (ticket.key, ticket.project, ticket.summary) == (
        "OPS-12",
        "OPS",
        "Flaky test in the billing pipeline",
    )
    assert (ticket.status, ticket.status_category, ticket.priority) == ("In Review", "in_progress", "Medium")
    assert ticket.assignee is not None and ticket.assignee.id == ident(server, MAYA)
    assert ticket.assignee.name == "Maya Chen"
    assert ticket.custom == {"story_points": 4.0, "sprint": "Sprint 1", "epic": "OPS-1"}
    assert "**host-12**" in ticket.description
    assert f"[~accountid:{MAYA['accountId']}]" in ticket.description
    assert "```bash\nkubectl -n prod get pods | grep -v Running\n```" in ticket.description
    assert ticket.url == f"{server.url}/browse/OPS-12"


async def test_a_ticket_is_fetched_with_only_the_fields_it_shows(
    cloud: JiraServer, cloud_backend: JiraTickets
) -> None:
    await cloud_backend.get_ticket("OPS-12")

    asked = set(last(cloud, "GET", "/issue/OPS-12").query["fields"].split(","))
    assert asked == set(TICKET_FIELDS) | {"parent"} | CUSTOM_FIELDS


async def test_unicode_comes_back_intact(backend: JiraTickets) -> None:
    japanese, emoji = await backend.get_ticket("OPS-7"), await backend.get_ticket("OPS-8")

    assert japanese.summary == "日本語のメールが文字化けする"
    assert emoji.summary == "Alert fatigue: tune the 🚨 paging rules"


async def test_cloud_search_pages_through_120_issues_by_next_page_token(
    cloud: JiraServer, cloud_backend: JiraTickets
) -> None:
    query = TicketQuery(projects=("OPS",), limit=50)
    keys: list[str] = []
    tokens: list[str | None] = [None]
    while True:
        page = await cloud_backend.search_tickets(query, page_token=tokens[-1])
        keys.extend(t.key for t in page.tickets)
        if page.next_page_token is None:
            break
        tokens.append(page.next_page_token)

    assert len(keys) == len(set(keys)) == 120
    assert [r.query.get("nextPageToken") for r in cloud.requests if r.path.endswith("/search/jql")] == tokens
    assert cloud.sent("GET", r"/search$") + cloud.sent("POST", r"/search$") == 0  # the removed API (410)


async def test_a_search_of_up_to_50_results_is_one_request(
    cloud: JiraServer, cloud_backend: JiraTickets
) -> None:
    await cloud_backend.search_tickets(TicketQuery(projects=("OPS",), limit=5))  # warm-up: field discovery
    before = len(cloud.requests)

    page = await cloud_backend.search_tickets(TicketQuery(projects=("OPS",), limit=50))

    assert len(page.tickets) == 50
    assert [r.path for r in cloud.requests[before:]] == ["/rest/api/2/search/jql"]


async def test_search_asks_only_for_the_fields_a_result_shows(
    cloud: JiraServer, cloud_backend: JiraTickets
) -> None:
    await cloud_backend.search_tickets(TicketQuery(projects=("OPS",), limit=3))

    assert cloud.searches[-1]["fields"] == set(SEARCH_FIELDS) | {"parent"} | CUSTOM_FIELDS
    assert cloud.searches[-1]["maxResults"] == 3


async def test_data_center_search_uses_the_classic_endpoint_with_offsets() -> None:
    with JiraServer(deployment="Server") as dc:
        backend = jira_backend(dc)
        first = await backend.search_tickets(TicketQuery(projects=("OPS",), limit=50))
        second = await backend.search_tickets(
            TicketQuery(projects=("OPS",), limit=50), page_token=first.next_page_token
        )
        await backend.aclose()

    assert [s["startAt"] for s in dc.searches] == [0, 50]
    assert dc.sent("GET", r"/search/jql$") == 0
    assert not {t.key for t in first.tickets} & {t.key for t in second.tickets}


async def test_text_search_finds_words_literally(backend: JiraTickets) -> None:
    page = await backend.search_tickets(TicketQuery(projects=("OPS",), text="host-12", limit=20))

    assert {t.key for t in page.tickets} == {"OPS-12", "OPS-120"}


async def test_text_with_jql_syntax_cannot_widen_a_search(server: JiraServer, backend: JiraTickets) -> None:
    page = await backend.search_tickets(
        TicketQuery(projects=("OPS",), text='host-12" OR project = SEC OR text ~ "x', limit=50)
    )

    jql = last(server, "GET", "/search/jql" if server.state.cloud else "/search").query["jql"]
    assert [c.field for c in jira_jql.parse(jql).where.args] == ["project", "text"]  # type: ignore[union-attr]
    assert page.tickets == ()


async def test_date_filters_are_read_in_the_bot_users_time_zone(
    cloud: JiraServer, cloud_backend: JiraTickets
) -> None:
    since = (await cloud_backend.get_ticket("OPS-119")).updated

    page = await cloud_backend.search_tickets(TicketQuery(projects=("OPS",), updated_after=since, limit=50))

    assert "OPS-119" in {t.key for t in page.tickets}
    assert all(t.updated >= since.replace(second=0) for t in page.tickets)
    jql = last(cloud, "GET", "/search/jql").query["jql"]
    assert since.astimezone(cloud.state.jql_context().tz).strftime("%Y/%m/%d %H:%M") in jql


# ---------------------------------------------------------------- writing


async def test_create_sends_one_post_with_attribution_and_reads_the_ticket_back(
    server: JiraServer, backend: JiraTickets
) -> None:
    ticket = await backend.create_ticket(
        NewTicket(
            project="OPS",
            summary="Renew the 🔐 certs",
            description="Expires **Friday**.",
            priority="High",
            labels=("tls",),
            assignee_id=ident(server, LEO),
        ),
        reporter=None,
        via="via Slack by Maya Chen",
    )

    assert server.sent("POST", r"/rest/api/2/issue$") == 1
    assert (ticket.key, ticket.summary, ticket.priority, ticket.labels) == (
        "OPS-121",
        "Renew the 🔐 certs",
        "High",
        ("tls",),
    )
    assert ticket.assignee is not None and ticket.assignee.name == "Leo Park"
    assert ticket.description == "Expires **Friday**."
    stored = server.state.issues["OPS-121"]["description"]
    assert stored == "Expires *Friday*.\n\n_via Slack by Maya Chen_"


async def test_a_field_not_on_the_screen_is_named_and_nothing_is_created(
    server: JiraServer, backend: JiraTickets
) -> None:
    server.remove_from_screen("priority")

    with pytest.raises(InvalidArguments, match="priority.*screen"):
        await backend.create_ticket(
            NewTicket(project="OPS", summary="x", priority="High"), reporter=None, via="v"
        )

    assert "OPS-121" not in server.state.issues


async def test_an_invalid_value_names_what_was_sent(backend: JiraTickets) -> None:
    with pytest.raises(InvalidArguments, match="priority='Urgent'"):
        await backend.create_ticket(
            NewTicket(project="OPS", summary="x", priority="Urgent"), reporter=None, via="v"
        )


async def test_creating_without_the_create_permission_names_the_bot_accounts_missing_permission(
    server: JiraServer, backend: JiraTickets
) -> None:
    server.revoke("CREATE_ISSUES")

    with pytest.raises(BackendPermissionMissing) as caught:
        await backend.create_ticket(NewTicket(project="OPS", summary="x"), reporter=None, via="v")
    assert caught.value.summary == "the bot's Jira account lacks permission to create the ticket: check its project permissions in Jira"
    assert caught.value.problem == "jira.permission:create the ticket"
    assert caught.value.detail == "HTTP 400: You do not have permission to create issues in this project."
    assert not isinstance(caught.value, PermissionDenied), "an operator's fix, never 'you may not'"


async def test_update_sends_only_the_changed_fields(server: JiraServer, backend: JiraTickets) -> None:
    updated = await backend.update_ticket(
        "OPS-12", TicketChanges(summary="Flaky billing test", labels=("ci",)), actor=None
    )

    assert last(server, "PUT", "/issue/OPS-12").json() == {
        "fields": {"summary": "Flaky billing test", "labels": ["ci"]}
    }
    assert (updated.summary, updated.labels, updated.priority) == ("Flaky billing test", ("ci",), "Medium")


async def test_transition_by_status_name_posts_the_matching_transition(
    server: JiraServer, backend: JiraTickets
) -> None:
    moved = await backend.transition_ticket("OPS-12", "done", actor=None)

    assert last(server, "POST", "/issue/OPS-12/transitions").json()["transition"] == {"id": 31}
    assert (moved.status, moved.status_category) == ("Done", "done")


async def test_moving_to_the_current_status_sends_nothing(server: JiraServer, backend: JiraTickets) -> None:
    ticket = await backend.transition_ticket("OPS-12", "In Review", actor=None)

    assert ticket.status == "In Review"
    assert server.sent("POST", r"/transitions$") == 0


async def test_an_unreachable_status_lists_the_reachable_ones_and_sends_nothing(
    server: JiraServer, backend: JiraTickets
) -> None:
    with pytest.raises(Conflict, match="It can move to: Done, In Progress"):
        await backend.transition_ticket("OPS-12", "Blocked", actor=None)

    assert server.sent("POST", r"/transitions$") == 0


async def test_assignment_uses_the_exact_id_and_never_a_user_search(
    server: JiraServer, backend: JiraTickets
) -> None:
    ticket = await backend.assign_ticket("OPS-12", ident(server, LEO), actor=None)

    body = last(server, "PUT", "/issue/OPS-12/assignee").json()
    assert body == ({"accountId": LEO["accountId"]} if server.state.cloud else {"name": "leo"})
    assert server.sent("GET", r"/user/search$") == 0
    assert ticket.assignee is not None and ticket.assignee.name == "Leo Park"


async def test_assigning_an_unknown_id_is_not_found_and_sends_nothing(
    server: JiraServer, backend: JiraTickets
) -> None:
    with pytest.raises(NotFound):
        await backend.assign_ticket("OPS-12", "nobody-with-this-id", actor=None)

    assert server.sent("PUT", r"/assignee$") == 0


async def test_a_comment_is_posted_once_with_attribution(server: JiraServer, backend: JiraTickets) -> None:
    comment = await backend.add_comment(
        "OPS-12",
        "Fixed in `v2.3` — see [PR](https://git.example.com/pr/7)",
        author=None,
        via="via Slack by Leo Park",
    )

    assert server.sent("POST", r"/issue/OPS-12/comment$") == 1
    assert last(server, "POST", "/comment").json() == {
        "body": "Fixed in {{v2.3}} — see [PR|https://git.example.com/pr/7]\n\n_via Slack by Leo Park_"
    }
    assert (
        comment.body == "Fixed in `v2.3` — see [PR](https://git.example.com/pr/7)\n\n_via Slack by Leo Park_"
    )


async def test_comments_page_by_offset_newest_first(backend: JiraTickets) -> None:
    for n in range(3):
        await backend.add_comment("OPS-13", f"note {n}", author=None, via="via test")

    first = await backend.list_comments("OPS-13", limit=2, newest_first=True)
    rest = await backend.list_comments("OPS-13", limit=2, newest_first=True, page_token=first.next_page_token)

    assert first.total == 4  # OPS-13 starts with one comment
    assert [c.body.splitlines()[0] for c in first.comments] == ["note 2", "note 1"]
    assert [c.body.splitlines()[0] for c in rest.comments] == [
        "note 0",
        "Comment 1: looked at host-13, **still** failing. Übergabe an das Team ✅",
    ]
    assert rest.next_page_token is None


async def test_history_lists_field_changes_oldest_first(server: JiraServer, backend: JiraTickets) -> None:
    await backend.update_ticket("OPS-12", TicketChanges(priority="High"), actor=None)
    server.advance(60)
    await backend.transition_ticket("OPS-12", "Done", actor=None)

    changes = [(c.field, c.from_value, c.to_value) for c in await backend.history("OPS-12")]

    assert changes == [("priority", "Medium", "High"), ("status", "In Review", "Done")]


# ---------------------------------------------------------------- people


async def test_people_are_found_by_name(server: JiraServer, backend: JiraTickets) -> None:
    people = await backend.find_people("maya")

    assert [p.name for p in people] == ["Maya Chen", "Maya Castillo"]


async def test_a_slack_user_maps_to_the_account_with_exactly_their_email_and_is_cached(
    server: JiraServer, backend: JiraTickets
) -> None:
    person = await backend.person_for_user(slack_user_id="U1", email="Maya@Example.com")
    searches = server.sent("GET", r"/user/search$")
    again = await backend.person_for_user(slack_user_id="U1", email="maya@example.com")

    assert person is not None and person.id == ident(server, MAYA)
    assert again == person
    assert server.sent("GET", r"/user/search$") == searches == 1


@pytest.mark.parametrize("email", ["maya@", "private@example.com", "nobody@example.com", None])
async def test_no_exact_email_match_means_no_person(backend: JiraTickets, email: str | None) -> None:
    assert await backend.person_for_user(slack_user_id="U2", email=email) is None


# ---------------------------------------------------------------- bad input


async def test_an_unknown_key_is_not_found_by_name(backend: JiraTickets) -> None:
    with pytest.raises(NotFound, match="OPS-999"):
        await backend.get_ticket("OPS-999")


async def test_a_deleted_ticket_is_not_found(server: JiraServer, backend: JiraTickets) -> None:
    server.delete_issue("OPS-12")

    with pytest.raises(NotFound, match="OPS-12"):
        await backend.get_ticket("OPS-12")


async def test_a_project_the_bot_account_may_not_browse_is_its_missing_permission(server: JiraServer, backend: JiraTickets) -> None:
    key = server.add_issue("SEC", "Pen test findings")
    server.forbid_project("SEC")

    with pytest.raises(BackendPermissionMissing, match="the bot's Jira account lacks permission to read the ticket"):
        await backend.get_ticket(key)
    with pytest.raises(BackendPermissionMissing, match="lacks permission to add the comment"):
        await backend.add_comment(key, "hi", author=None, via="v")
    assert "SEC" not in {p.key for p in await backend.list_projects()}


async def test_a_malformed_key_never_reaches_jira(server: JiraServer, backend: JiraTickets) -> None:
    with pytest.raises(InvalidArguments, match="ticket key"):
        await backend.get_ticket("OPS-1/../../serverInfo")

    assert server.requests == []


async def test_creating_with_an_unknown_assignee_is_not_found_and_creates_nothing(
    server: JiraServer, backend: JiraTickets
) -> None:
    with pytest.raises(NotFound, match="no-such-user"):
        await backend.create_ticket(
            NewTicket(project="OPS", summary="x", assignee_id="no-such-user"), reporter=None, via="v"
        )

    assert "OPS-121" not in server.state.issues
