"""Recorded Jira answers in ../shared/corpus/jira/ (Data Center captures, Cloud vendor fixtures, the spec's
examples) served by the fake Jira through the real `jira` package and our JiraTickets: the tickets, comments,
transitions and errors we make of them are what the recordings say (keys like SAMPLEPROJECT-1, dates without a colon
in the offset, null and absent fields, v2 wiki text and v3 ADF, pages without `total`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from bot.errors import InvalidArguments, Unavailable
from integrations.tickets.base import TicketChanges, TicketQuery
from integrations.tickets.jira import JiraTickets
from tests.fakes.jira_harness import jira_backend
from tests.fakes.jira_server import JiraServer
from tests.fakes.recordings import JIRA, jira_file
from tests.shared_files import skip_unless

pytestmark = skip_unless(JIRA)

Deployment = str
ISSUES: list[tuple[Deployment, str]] = [
    ("Server", "jira-ruby-server/issue__10002.json"),  # Data Center v2: SAMPLEPROJECT-1, +1300 offsets
    ("Cloud", "atlassian-python-api/issue_FOO-123_GET.fields=*all.json"),  # Cloud v2, dozens of null fields
    ("Cloud", "jira-cli-trimmed/issue.json"),  # Cloud v3: ADF description
]


@pytest.fixture(params=["Server", "Cloud"])
def deployment(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serve(server: JiraServer, method: str, path: str, body: Any, status: int = 200) -> None:
    server.fault(method, path, status=status, body=body, times=None)


def when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def name_of(value: Any) -> str | None:
    return value.get("name") if isinstance(value, dict) else None


@pytest.fixture
def jira_for() -> Iterator[Any]:
    opened: list[tuple[JiraServer, JiraTickets]] = []

    def make(deployment: str) -> tuple[JiraServer, JiraTickets]:
        server = JiraServer(deployment=deployment, seed=False).start()  # type: ignore[arg-type]
        backend = jira_backend(server)
        opened.append((server, backend))
        return server, backend

    yield make
    for server, backend in opened:
        backend.client.close()
        server.stop()


@pytest.mark.parametrize(("deployment", "recording"), ISSUES, ids=[r for _, r in ISSUES])
async def test_a_recorded_issue_becomes_the_ticket_it_describes(jira_for: Any, deployment: str, recording: str) -> None:
    raw = jira_file(recording)
    key, fields = raw["key"], raw["fields"]
    server, backend = jira_for(deployment)
    serve(server, "GET", rf"/issue/{key}$", raw)

    ticket = await backend.get_ticket(key.lower())

    assert ticket.key == key and ticket.project == key.rsplit("-", 1)[0]
    assert ticket.summary == fields["summary"]
    assert ticket.status == fields["status"]["name"]
    assert ticket.priority == name_of(fields.get("priority"))
    assert ticket.issue_type == fields["issuetype"]["name"]
    assert (ticket.assignee.name if ticket.assignee else None) == (fields.get("assignee") or {}).get("displayName")
    assert ticket.labels == tuple(fields.get("labels") or ())
    assert ticket.created == when(fields["created"]) and ticket.updated == when(fields["updated"])
    assert bool(ticket.description.strip()) == bool(fields.get("description"))
    comment = fields.get("comment")
    assert ticket.comment_count == (comment["total"] if isinstance(comment, dict) else 0)


async def test_a_data_center_key_longer_than_ten_letters_is_read(jira_for: Any) -> None:
    server, backend = jira_for("Server")
    serve(server, "GET", r"/issue/SAMPLEPROJECT-1$", jira_file("jira-ruby-server/issue__10002.json"))

    ticket = await backend.get_ticket("SAMPLEPROJECT-1")

    assert ticket.key == "SAMPLEPROJECT-1" and ticket.created.utcoffset().total_seconds() == 13 * 3600  # type: ignore[union-attr]


async def test_a_documentation_example_missing_required_fields_is_a_clear_error(jira_for: Any) -> None:
    server, backend = jira_for("Cloud")
    serve(server, "GET", r"/issue/ED-1$", jira_file("spec-examples-cloud-v3/issue_get.200.json"))

    with pytest.raises(Unavailable, match="could not read"):
        await backend.get_ticket("ED-1")


async def test_a_recorded_data_center_search_page(jira_for: Any) -> None:
    raw = jira_file("jira-ruby-server/search__issue.json")
    server, backend = jira_for("Server")
    serve(server, "GET", r"/search$", raw)

    page = await backend.search_tickets(TicketQuery(projects=("SAMPLEPROJECT",), limit=50))

    assert [t.key for t in page.tickets] == [i["key"] for i in raw["issues"]]
    assert page.next_page_token is None  # startAt + issues reached `total`


@pytest.mark.parametrize("recording", ["jira-cli-trimmed/search.json", "spec-examples-cloud-v3/search_jql_get.200.json"])
async def test_a_recorded_cloud_search_page_without_total(jira_for: Any, recording: str) -> None:
    raw = jira_file(recording)
    project = raw["issues"][0]["key"].rsplit("-", 1)[0]
    server, backend = jira_for("Cloud")
    serve(server, "*", r"/search/jql$", raw)

    if all("summary" in (i.get("fields") or {}) for i in raw["issues"]):
        page = await backend.search_tickets(TicketQuery(projects=(project,), limit=50))
        assert [t.key for t in page.tickets] == [i["key"] for i in raw["issues"]]
        assert page.next_page_token is None  # isLast, no token: no `total` needed
    else:  # the spec's example is trimmed to a few fields: a clear error, never a crash
        with pytest.raises(Unavailable):
            await backend.search_tickets(TicketQuery(projects=(project,), limit=50))


async def test_cloud_page_tokens_are_url_safe_base64_and_sent_back_intact(jira_for: Any) -> None:
    server, backend = jira_for("Cloud")
    for n in range(1, 8):
        server.add_issue("OPS", f"Ticket {n}")

    first = await backend.search_tickets(TicketQuery(projects=("OPS",), limit=3))
    second = await backend.search_tickets(TicketQuery(projects=("OPS",), limit=3), page_token=first.next_page_token)

    token = first.next_page_token
    assert token and token.endswith("=") and ("-" in token or "_" in token)  # the recorded token's alphabet
    assert server.searches[1]["nextPageToken"] == token  # the `=` and `-` survived the query string
    assert not {t.key for t in first.tickets} & {t.key for t in second.tickets}


async def test_recorded_comments_with_their_page_total(jira_for: Any) -> None:
    raw = jira_file("jira-ruby-server/issue__10002__comment.json")
    server, backend = jira_for("Server")
    serve(server, "GET", r"/issue/SAMPLEPROJECT-1/comment$", raw)

    page = await backend.list_comments("SAMPLEPROJECT-1")

    assert page.total == raw["total"] and [c.id for c in page.comments] == [c["id"] for c in raw["comments"]]
    assert [c.created for c in page.comments] == [when(c["created"]) for c in raw["comments"]]
    assert [c.author.name if c.author else None for c in page.comments] == [c["author"]["displayName"] for c in raw["comments"]]


@pytest.mark.parametrize(
    ("deployment", "recording"),
    [("Server", "jira-ruby-server/issue__10002__transitions.json"), ("Cloud", "go-jira/transitions.json"), ("Cloud", "spec-examples-cloud-v3/transitions_get.200.json")],
)
async def test_recorded_transitions(jira_for: Any, deployment: str, recording: str) -> None:
    raw = jira_file(recording)
    server, backend = jira_for(deployment)
    serve(server, "GET", r"/issue/OPS-1/transitions$", raw)

    moves = await backend.list_transitions("OPS-1")

    assert [(m.id, m.name, m.to_status) for m in moves] == [(t["id"], t["name"], t["to"]["name"]) for t in raw["transitions"]]


@pytest.mark.parametrize(
    ("recording", "says"),
    [
        ("jira-ruby-server/issue__10002.invalid.put.json", "Field 'invalid' is not valid for this operation."),
        ("jira-ruby-server/issue__10002.put.missing_field_update.json", "one of 'fields' or 'update' required"),
        ("jira-ruby-server/component__10000.invalid.put.json", "Unrecognized field"),
    ],
)
async def test_a_recorded_refusal_of_an_edit_is_invalid_arguments_with_jiras_words(jira_for: Any, recording: str, says: str) -> None:
    server, backend = jira_for("Server")
    server.add_issue("OPS", "Rotate the certificates")
    serve(server, "PUT", r"/issue/OPS-1$", jira_file(recording), status=400)

    with pytest.raises(InvalidArguments) as refused:
        await backend.update_ticket("OPS-1", TicketChanges(summary="New title"), actor=None)

    assert says in str(refused.value)


async def test_assignable_people_come_as_an_array_like_the_recording_not_the_specs_example(jira_for: Any) -> None:
    recorded = jira_file("jira-cli-trimmed/users.json")
    spec_example = jira_file("spec-examples-cloud-v3/user_assignable_search_get.200.json")
    server, backend = jira_for("Cloud")
    server.add_user("Maya Chen", "maya@example.com")

    users = await backend.client.read(lambda j: j.search_assignable_users_for_issues(query="maya", project="OPS"), what="find people")

    assert isinstance(recorded, list) and isinstance(spec_example, dict)
    assert [u.displayName for u in users] == ["Maya Chen"]
    assert {"accountId", "displayName", "active"} <= set(recorded[0]) and hasattr(users[0], "accountId")
