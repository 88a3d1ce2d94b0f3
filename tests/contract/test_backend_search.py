"""Contract: structured search filters, ordering and pagination behave the same on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import InvalidArguments
from integrations.tickets.base import Person, TicketQuery

from .conftest import Harness


class Board:
    """Eight tickets across two projects, one hour apart, with known people, priorities and labels."""

    def __init__(self, maya: Person, leo: Person) -> None:
        self.maya, self.leo = maya, leo


@pytest.fixture
async def board(harness: Harness) -> Board:
    maya = harness.add_person("Maya Chen", "maya@example.com")
    leo = harness.add_person("Leo Park", "leo@example.com")
    specs: list[dict[str, object]] = [
        {
            "summary": "Rotate TLS certificates",
            "priority": "High",
            "labels": ("security",),
            "assignee_id": maya.id,
        },
        {
            "summary": "Upgrade PostgreSQL to 16",
            "priority": "Medium",
            "labels": ("database",),
            "assignee_id": leo.id,
        },
        {
            "summary": "Flaky deploy pipeline",
            "priority": "Highest",
            "labels": ("ci", "flaky"),
            "assignee_id": maya.id,
        },
        {"summary": "Clean up old S3 buckets", "priority": "Low", "labels": ("cost",)},
        {
            "summary": "Signup form rejects plus signs",
            "priority": "High",
            "project": "WEB",
            "assignee_id": leo.id,
        },
        {
            "summary": "Pager rota for December",
            "priority": "Lowest",
            "description": "Ask about the Ünïcode rota",
        },
        {"summary": "Backups miss the audit schema", "priority": "Highest", "labels": ("database", "backup")},
        {
            "summary": "Homepage hero image is blurry",
            "priority": "Low",
            "project": "WEB",
            "labels": ("design",),
        },
    ]
    for spec in specs:
        await harness.ticket(**spec)  # type: ignore[arg-type]
        harness.advance(3600)
    await harness.backend.transition_ticket("OPS-1", "In Progress", actor=None)
    await harness.backend.transition_ticket("OPS-2", "Blocked", actor=None)
    await harness.backend.transition_ticket("OPS-3", "Done", actor=None)
    return Board(maya, leo)


async def keys(harness: Harness, **filters: object) -> list[str]:
    query = TicketQuery(order_by="key", descending=False, **filters)  # type: ignore[arg-type]
    page = await harness.backend.search_tickets(query)
    return [t.key for t in page.tickets]


async def test_filter_by_project(harness: Harness, board: Board) -> None:
    assert await keys(harness, projects=("WEB",)) == ["WEB-1", "WEB-2"]


async def test_a_project_the_backend_lacks_has_no_tickets_and_spoils_no_other(
    harness: Harness, board: Board
) -> None:
    assert await keys(harness, projects=("NOPE",)) == []
    assert await keys(harness, projects=("NOPE", "WEB", "GONE")) == ["WEB-1", "WEB-2"]


async def test_filter_by_status_name_in_any_case(harness: Harness, board: Board) -> None:
    assert await keys(harness, statuses=("blocked",)) == ["OPS-2"]
    assert await keys(harness, statuses=("In Progress", "Done")) == ["OPS-1", "OPS-3"]


async def test_filter_by_status_category(harness: Harness, board: Board) -> None:
    assert await keys(harness, status_categories=("in_progress",)) == ["OPS-1", "OPS-2"]
    assert await keys(harness, status_categories=("done",)) == ["OPS-3"]


async def test_filter_by_assignee(harness: Harness, board: Board) -> None:
    assert await keys(harness, assignee_ids=(board.maya.id,)) == ["OPS-1", "OPS-3"]


async def test_filter_unassigned(harness: Harness, board: Board) -> None:
    assert await keys(harness, unassigned=True) == ["OPS-4", "OPS-5", "OPS-6", "WEB-2"]


async def test_filter_assignee_or_unassigned(harness: Harness, board: Board) -> None:
    found = await keys(harness, assignee_ids=(board.leo.id,), unassigned=True, projects=("WEB",))

    assert found == ["WEB-1", "WEB-2"]


async def test_filter_by_priority(harness: Harness, board: Board) -> None:
    assert await keys(harness, priorities=("Highest",)) == ["OPS-3", "OPS-6"]


async def test_filter_by_any_of_the_labels(harness: Harness, board: Board) -> None:
    assert await keys(harness, labels=("database",)) == ["OPS-2", "OPS-6"]
    assert await keys(harness, labels=("flaky", "design")) == ["OPS-3", "WEB-2"]


async def test_a_label_filter_matches_whole_labels_only(harness: Harness, board: Board) -> None:
    assert await keys(harness, labels=("data",)) == []


async def test_text_matches_summary_and_description_in_any_case(harness: Harness, board: Board) -> None:
    assert await keys(harness, text="postgresql") == ["OPS-2"]
    assert await keys(harness, text="ünïcode") == ["OPS-5"]


async def test_text_is_data_not_query_syntax(harness: Harness, board: Board) -> None:
    assert await keys(harness, text='" OR project = WEB OR "') == []
    assert await keys(harness, text="%") == []


async def test_filters_combine_with_and(harness: Harness, board: Board) -> None:
    assert await keys(harness, priorities=("High",), projects=("OPS",)) == ["OPS-1"]


async def test_filter_by_created_window(harness: Harness, board: Board) -> None:
    start = (await harness.backend.get_ticket("OPS-2")).created

    found = await keys(harness, created_after=start, created_before=start + timedelta(hours=2))

    assert found == ["OPS-2", "OPS-3"]


async def test_filter_by_updated_window(harness: Harness, board: Board) -> None:
    harness.advance(3600)
    await harness.backend.transition_ticket("WEB-2", "In Progress", actor=None)

    assert await keys(harness, updated_after=harness.now() - timedelta(minutes=30)) == ["WEB-2"]
    assert "WEB-2" not in await keys(harness, updated_before=harness.now() - timedelta(minutes=30))


async def test_order_by_priority_puts_the_most_urgent_first(harness: Harness, board: Board) -> None:
    page = await harness.backend.search_tickets(
        TicketQuery(order_by="priority", descending=True, projects=("OPS",))
    )

    assert [t.priority for t in page.tickets] == ["Highest", "Highest", "High", "Medium", "Low", "Lowest"]


async def test_order_by_updated_puts_the_latest_change_first(harness: Harness, board: Board) -> None:
    harness.advance(3600)
    await harness.backend.transition_ticket("OPS-4", "In Progress", actor=None)

    page = await harness.backend.search_tickets(TicketQuery(order_by="updated", descending=True, limit=2))

    assert page.tickets[0].key == "OPS-4"


async def test_results_carry_people_and_status(harness: Harness, board: Board) -> None:
    page = await harness.backend.search_tickets(TicketQuery(projects=("OPS",), statuses=("In Progress",)))

    [ticket] = page.tickets
    assert ticket.assignee is not None and ticket.assignee.name == "Maya Chen"
    assert ticket.status_category == "in_progress"


async def test_pages_cover_every_match_exactly_once_in_order(harness: Harness) -> None:
    for n in range(120):
        await harness.ticket(f"Bulk ticket {n}")
    query = TicketQuery(order_by="key", descending=False, limit=50)

    seen: list[str] = []
    sizes: list[int] = []
    token: str | None = None
    while True:
        page = await harness.backend.search_tickets(query, page_token=token)
        seen += [t.key for t in page.tickets]
        sizes.append(len(page.tickets))
        token = page.next_page_token
        if token is None:
            break

    assert sizes == [50, 50, 20]
    assert seen == [f"OPS-{n}" for n in range(1, 121)]


async def test_a_garbled_page_token_is_invalid(harness: Harness, board: Board) -> None:
    with pytest.raises(InvalidArguments):
        await harness.backend.search_tickets(TicketQuery(), page_token="not-a-token")
