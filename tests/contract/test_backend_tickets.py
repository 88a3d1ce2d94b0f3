"""Contract: creating, reading, changing, moving and assigning tickets behaves the same on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.errors import Conflict, InvalidArguments, NotFound
from integrations.tickets.base import NewTicket, TicketBackend, TicketChanges

from .conftest import Harness


async def test_projects_are_listed_by_key_with_their_names(harness: Harness) -> None:
    projects = {p.key: p.name for p in await harness.backend.list_projects()}

    assert projects["OPS"] == "Operations"
    assert projects["WEB"] == "Website"


async def test_created_tickets_are_numbered_in_sequence_per_project(harness: Harness) -> None:
    keys = [
        (await harness.ticket("Renew the wildcard certificate")).key,
        (await harness.ticket("Move the status page")).key,
        (await harness.ticket("Fix the signup form", project="WEB")).key,
        (await harness.ticket("Patch the bastion host")).key,
    ]

    assert keys == ["OPS-1", "OPS-2", "WEB-1", "OPS-3"]


async def test_a_created_ticket_reads_back_with_every_field(harness: Harness) -> None:
    maya = harness.add_person("Maya Chen", "maya@example.com")
    created = await harness.ticket(
        "Disk alerts on db-3",
        description="Disk at **91%**.\n\n```\ndf -h /var/lib/postgresql\n```",
        issue_type="Bug",
        priority="High",
        labels=("database", "alerts"),
        assignee_id=maya.id,
    )

    fetched = await harness.backend.get_ticket(created.key)

    assert fetched == created
    assert fetched.project == "OPS"
    assert (fetched.summary, fetched.issue_type, fetched.priority) == ("Disk alerts on db-3", "Bug", "High")
    assert "df -h /var/lib/postgresql" in fetched.description
    assert set(fetched.labels) == {"database", "alerts"}
    assert fetched.assignee is not None and fetched.assignee.id == maya.id
    assert (fetched.status, fetched.status_category) == ("To Do", "todo")
    assert fetched.comment_count == 0


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda b: b.get_ticket("OPS-999"), id="get"),
        pytest.param(
            lambda b: b.update_ticket("OPS-999", TicketChanges(summary="x"), actor=None), id="update"
        ),
        pytest.param(lambda b: b.list_transitions("OPS-999"), id="transitions"),
        pytest.param(lambda b: b.transition_ticket("OPS-999", "Done", actor=None), id="transition"),
        pytest.param(lambda b: b.assign_ticket("OPS-999", None, actor=None), id="assign"),
        pytest.param(lambda b: b.list_comments("OPS-999"), id="comments"),
        pytest.param(lambda b: b.add_comment("OPS-999", "hi", author=None, via="via test"), id="comment"),
        pytest.param(lambda b: b.history("OPS-999"), id="history"),
    ],
)
async def test_an_unknown_ticket_is_not_found_by_name(
    harness: Harness, call: Callable[[TicketBackend], Awaitable[Any]]
) -> None:
    await harness.ticket()

    with pytest.raises(NotFound, match="OPS-999"):
        await call(harness.backend)


async def test_creating_in_an_unknown_project_is_not_found(harness: Harness) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        await harness.backend.create_ticket(
            NewTicket(project="NOPE", summary="x"), reporter=None, via="via test"
        )


async def test_an_unknown_priority_is_invalid_and_creates_nothing(harness: Harness) -> None:
    with pytest.raises(InvalidArguments, match="Urgent"):
        await harness.ticket(priority="Urgent")

    assert (await harness.ticket()).key == "OPS-1"


async def test_update_changes_only_the_fields_given(harness: Harness) -> None:
    ticket = await harness.ticket("Old title", description="Keep me", priority="Low", labels=("a",))
    harness.advance(60)

    updated = await harness.backend.update_ticket(
        ticket.key, TicketChanges(summary="New title", priority="Highest"), actor=None
    )

    assert (updated.summary, updated.priority) == ("New title", "Highest")
    assert (updated.description, updated.labels) == ("Keep me", ("a",))
    assert updated.updated > ticket.updated
    assert await harness.backend.get_ticket(ticket.key) == updated


async def test_update_replaces_labels(harness: Harness) -> None:
    ticket = await harness.ticket(labels=("a", "b"))

    updated = await harness.backend.update_ticket(ticket.key, TicketChanges(labels=("c",)), actor=None)

    assert updated.labels == ("c",)


async def test_history_records_each_change(harness: Harness) -> None:
    ticket = await harness.ticket(priority="Low")
    harness.advance(60)
    await harness.backend.update_ticket(ticket.key, TicketChanges(priority="High"), actor=None)
    harness.advance(60)
    await harness.backend.transition_ticket(ticket.key, "In Progress", actor=None)

    changes = [(c.field.lower(), c.from_value, c.to_value) for c in await harness.backend.history(ticket.key)]

    assert ("priority", "Low", "High") in changes
    assert ("status", "To Do", "In Progress") in changes
    assert changes.index(("priority", "Low", "High")) < changes.index(("status", "To Do", "In Progress"))


async def test_a_new_ticket_can_start_work_be_blocked_or_be_closed(harness: Harness) -> None:
    ticket = await harness.ticket()

    offered = {t.to_status for t in await harness.backend.list_transitions(ticket.key)}

    assert offered == {"In Progress", "Blocked", "Done"}


async def test_transitions_move_status_and_category(harness: Harness) -> None:
    ticket = await harness.ticket()

    started = await harness.backend.transition_ticket(ticket.key, "In Progress", actor=None)
    reviewed = await harness.backend.transition_ticket(ticket.key, "In Review", actor=None)
    done = await harness.backend.transition_ticket(ticket.key, "Done", actor=None)
    reopened = await harness.backend.transition_ticket(ticket.key, "To Do", actor=None)

    assert (started.status, started.status_category) == ("In Progress", "in_progress")
    assert (reviewed.status, reviewed.status_category) == ("In Review", "in_progress")
    assert (done.status, done.status_category) == ("Done", "done")
    assert (reopened.status, reopened.status_category) == ("To Do", "todo")


async def test_an_unreachable_status_is_a_conflict_naming_the_reachable_ones(harness: Harness) -> None:
    ticket = await harness.ticket()

    with pytest.raises(Conflict) as raised:
        await harness.backend.transition_ticket(ticket.key, "In Review", actor=None)

    for reachable in ("In Progress", "Blocked", "Done"):
        assert reachable in str(raised.value)
    assert (await harness.backend.get_ticket(ticket.key)).status == "To Do"


async def test_assign_then_unassign(harness: Harness) -> None:
    leo = harness.add_person("Leo Park", "leo@example.com")
    ticket = await harness.ticket()

    assigned = await harness.backend.assign_ticket(ticket.key, leo.id, actor=None)
    unassigned = await harness.backend.assign_ticket(ticket.key, None, actor=None)

    assert assigned.assignee is not None and assigned.assignee.name == "Leo Park"
    assert unassigned.assignee is None
    assert (await harness.backend.get_ticket(ticket.key)).assignee is None


async def test_assigning_an_unknown_person_is_not_found(harness: Harness) -> None:
    ticket = await harness.ticket()

    with pytest.raises(NotFound):
        await harness.backend.assign_ticket(ticket.key, "no-such-person", actor=None)


async def test_concurrent_creates_never_share_a_key(harness: Harness) -> None:
    tickets = await asyncio.gather(*(harness.ticket(f"Parallel {i}") for i in range(12)))

    assert sorted(t.key for t in tickets) == sorted(f"OPS-{n}" for n in range(1, 13))
