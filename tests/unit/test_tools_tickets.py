"""Ticket tools through the real local store: filters, "me" and names, visibility, compact capped results,
validation bounds, and writes attributed to the asker."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot import messages
from bot.deps import Deps
from bot.errors import Conflict, NotFound
from bot.settings import Settings
from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.unit.ticket_world import MAYA, PRIYA, STRANGER, build_world, call, context, ticket


@pytest.fixture
def deps(sqlite_database: Database, clock: FixedClock, settings: Settings) -> Deps:
    # The tool layer is database-agnostic; the store under it runs the contract suite on SQLite and Postgres.
    return build_world(sqlite_database, clock, settings)


async def keys_of(result: dict) -> list[str]:
    return sorted(t["key"] for t in result.get("tickets", []))


# ---------------------------------------------------------------- search_tickets: people


async def test_me_is_the_asker_linked_by_slack_id(deps: Deps) -> None:
    mine = await ticket(deps, assignee_id="maya")
    await ticket(deps, assignee_id="leo")

    result = await call(context(deps, MAYA), "search_tickets", assignee="me")

    assert await keys_of(result) == [mine]


async def test_me_is_found_by_the_askers_email_when_not_linked(deps: Deps) -> None:
    mine = await ticket(deps, assignee_id="priya")
    await ticket(deps, assignee_id="maya")

    result = await call(context(deps, PRIYA), "search_tickets", assignee="my")

    assert await keys_of(result) == [mine]


async def test_me_for_an_asker_with_no_person_says_how_to_fix_it(deps: Deps) -> None:
    await ticket(deps, assignee_id="maya")

    with pytest.raises(NotFound) as raised:
        await call(context(deps, STRANGER), "search_tickets", assignee="me")

    assert str(raised.value) == messages.me_unknown("Visitor")


async def test_reporter_me_finds_what_the_asker_reported(deps: Deps) -> None:
    created = await call(context(deps, MAYA), "create_ticket", project="OPS", summary="Disk alerts on db-3")
    await ticket(deps)

    result = await call(context(deps, MAYA), "search_tickets", reporter="me")

    assert await keys_of(result) == [created["created"]["key"]]


async def test_a_unique_name_is_used(deps: Deps) -> None:
    leos = await ticket(deps, assignee_id="leo")
    await ticket(deps, assignee_id="maya")

    result = await call(context(deps), "search_tickets", assignee="leo park")

    assert await keys_of(result) == [leos]


async def test_an_ambiguous_name_is_a_conflict_listing_the_candidates(deps: Deps) -> None:
    with pytest.raises(Conflict) as raised:
        await call(context(deps), "search_tickets", assignee="Sam")

    assert "Sam Ortiz" in str(raised.value) and "Sam Lee" in str(raised.value)


async def test_an_unknown_name_is_not_found(deps: Deps) -> None:
    with pytest.raises(NotFound, match="Zed"):
        await call(context(deps), "search_tickets", assignee="Zed")


async def test_unassigned_finds_tickets_without_an_owner(deps: Deps) -> None:
    free = await ticket(deps)
    await ticket(deps, assignee_id="maya")

    assert await keys_of(await call(context(deps), "search_tickets", assignee="unassigned")) == [free]


# ---------------------------------------------------------------- search_tickets: visibility


async def test_search_without_a_project_stays_within_the_visible_projects(deps: Deps) -> None:
    ops = await ticket(deps)
    await ticket(deps, project="SEC")

    result = await call(context(deps, visible=frozenset({"OPS", "WEB"})), "search_tickets")

    assert await keys_of(result) == [ops]


async def test_the_restriction_is_part_of_the_query_so_pages_stay_full(deps: Deps, clock: FixedClock) -> None:
    visible = [await ticket(deps, summary=f"Ops {n}") for n in range(2)]
    clock.advance(60)
    for n in range(3):
        await ticket(deps, summary=f"Secret {n}", project="SEC")  # newer, so first in the default order

    result = await call(context(deps, visible=frozenset({"OPS"})), "search_tickets", limit=2)

    assert await keys_of(result) == sorted(visible)


async def test_a_hidden_project_reads_exactly_like_a_missing_one(deps: Deps) -> None:
    await ticket(deps, project="SEC")
    ctx = context(deps, visible=frozenset({"OPS"}))

    with pytest.raises(NotFound) as hidden:
        await call(ctx, "search_tickets", project="SEC")
    with pytest.raises(NotFound) as missing:
        await call(ctx, "search_tickets", project="NOPE")

    assert str(hidden.value) == messages.project_not_available("SEC")
    assert str(missing.value) == messages.project_not_available("NOPE")


async def test_an_unknown_project_without_restriction_is_named_in_the_note(deps: Deps) -> None:
    result = await call(context(deps), "search_tickets", project="NOPE")

    assert result["count"] == 0 and result["note"] == messages.project_not_available("NOPE")


async def test_no_visible_project_means_nothing_to_search(deps: Deps) -> None:
    await ticket(deps)

    result = await call(context(deps, visible=frozenset()), "search_tickets")

    assert result == {"count": 0, "note": messages.nothing_visible_here()}


# ---------------------------------------------------------------- search_tickets: filters and results


async def test_not_updated_days_uses_the_clock(deps: Deps, clock: FixedClock) -> None:
    old = await ticket(deps, summary="Old work")
    clock.advance(8 * 86400)
    await ticket(deps, summary="Fresh work")

    result = await call(context(deps), "search_tickets", not_updated_days=7)

    assert await keys_of(result) == [old]


async def test_pages_of_a_stale_search_continue_while_the_clock_moves(deps: Deps, clock: FixedClock) -> None:
    for n in range(3):
        await ticket(deps, summary=f"Old {n}")
    clock.advance(8 * 86400)
    ctx = context(deps)

    first = await call(ctx, "search_tickets", not_updated_days=7, order_by="key", limit=2)
    clock.advance(90)
    second = await call(ctx, "search_tickets", not_updated_days=7, order_by="key", limit=2,
                        page_token=first["next_page_token"])  # fmt: skip

    assert [t["key"] for t in first["tickets"] + second["tickets"]] == ["OPS-1", "OPS-2", "OPS-3"]


async def test_open_high_priority_filters_combine(deps: Deps) -> None:
    urgent = await ticket(deps, priority="Highest")
    done = await ticket(deps, priority="High")
    await ticket(deps, priority="Low")
    await deps.tickets.transition_ticket(done, "Done", actor=None)

    result = await call(
        context(deps), "search_tickets", priority=["Highest", "High"], status_category=["todo", "in_progress"]
    )

    assert await keys_of(result) == [urgent]


async def test_results_are_one_compact_line_per_ticket(deps: Deps) -> None:
    await ticket(deps, assignee_id="maya", priority="High", description="long text " * 50, labels=("x",))
    await ticket(deps, summary="No owner, no priority")

    result = await call(context(deps), "search_tickets", order_by="key")

    assert result["tickets"] == [
        {"key": "OPS-1", "summary": "Rotate the TLS certificates", "status": "To Do", "priority": "High",
         "assignee": "Maya Chen", "updated": "2026-11-18 14:30"},
        {"key": "OPS-2", "summary": "No owner, no priority", "status": "To Do", "assignee": "unassigned",
         "updated": "2026-11-18 14:30"},
    ]  # fmt: skip


async def test_a_large_result_is_cut_to_the_budget_with_a_note(deps: Deps) -> None:
    deps.settings = deps.settings.model_copy(update={"chatops_max_result_chars": 1500})
    for n in range(30):
        await ticket(deps, summary=f"Ticket number {n} with a fairly long summary to fill the page")

    result = await call(context(deps), "search_tickets", limit=30)

    assert len(json.dumps(result, separators=(",", ":"))) <= 1500
    assert 0 < len(result["tickets"]) < 30
    assert result["note"].startswith(f"Showing {len(result['tickets'])} of 30.")


async def test_pages_continue_with_the_token(deps: Deps) -> None:
    for n in range(5):
        await ticket(deps, summary=f"Ticket {n}")
    ctx = context(deps)

    first = await call(ctx, "search_tickets", order_by="key", limit=3)
    second = await call(ctx, "search_tickets", order_by="key", limit=3, page_token=first["next_page_token"])

    assert [t["key"] for t in first["tickets"] + second["tickets"]] == [f"OPS-{n}" for n in range(1, 6)]
    assert "next_page_token" not in second


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": 0},
        {"limit": 51},
        {"project": "OPS; DROP"},
        {"text": "x" * 201},
        {"not_updated_days": 0},
        {"priority": ["Urgent"]},
        {"status_category": ["open"]},
        {"created_after": "2026-11-10", "created_before": "2026-11-01"},
        {"jql": "project = SEC"},
    ],
)
async def test_search_arguments_out_of_bounds_are_rejected(deps: Deps, arguments: dict) -> None:
    with pytest.raises(ValidationError):
        await call(context(deps), "search_tickets", **arguments)


# ---------------------------------------------------------------- get_ticket


async def test_get_ticket_accepts_a_lower_case_key(deps: Deps) -> None:
    await ticket(deps, assignee_id="maya")

    result = await call(context(deps), "get_ticket", key="ops-1")

    assert (result["key"], result["assignee"], result["reporter"]) == ("OPS-1", "Maya Chen", "Leo Park")


@pytest.mark.parametrize("key", ["OPS", "OPS-0", "OPS-1 OR 1=1", "O-1", "TOOLONGPROJ-1"])
async def test_get_ticket_rejects_malformed_keys(deps: Deps, key: str) -> None:
    with pytest.raises(ValidationError):
        await call(context(deps), "get_ticket", key=key)


async def test_a_ticket_in_a_hidden_project_reads_exactly_like_a_missing_one(deps: Deps) -> None:
    secret = await ticket(deps, project="SEC")
    ctx = context(deps, visible=frozenset({"OPS"}))

    with pytest.raises(NotFound) as hidden:
        await call(ctx, "get_ticket", key=secret)
    with pytest.raises(NotFound) as missing:
        await call(ctx, "get_ticket", key="SEC-99")

    assert str(hidden.value) == messages.no_ticket(secret)
    assert str(missing.value) == messages.no_ticket("SEC-99")


async def test_a_long_description_is_clipped_with_a_marker(deps: Deps) -> None:
    await ticket(deps, description="word " * 2000)

    result = await call(context(deps), "get_ticket", key="OPS-1")

    assert len(result["description"]) < 2100
    assert result["description"].endswith(messages.text_cut(2000, 10000))


# ---------------------------------------------------------------- writes


async def test_create_reports_as_the_asker_and_attributes_the_change(deps: Deps) -> None:
    result = await call(context(deps, MAYA), "create_ticket", project="ops", summary="Disk alerts on db-3",
                        issue_type="Bug", priority="High", assignee="me")  # fmt: skip

    created = await deps.tickets.get_ticket(result["created"]["key"])
    history = await deps.tickets.history(created.key)
    assert result["created"]["key"] == "OPS-1"
    assert created.reporter is not None and created.reporter.id == "maya"
    assert created.assignee is not None and created.assignee.id == "maya"
    assert history[0].to_value == "via Slack by Maya Chen"


async def test_create_in_a_hidden_project_creates_nothing(deps: Deps) -> None:
    with pytest.raises(NotFound):
        await call(context(deps, visible=frozenset({"OPS"})), "create_ticket", project="SEC", summary="Leak")

    assert await keys_of(await call(context(deps), "search_tickets")) == []


async def test_create_with_an_ambiguous_assignee_creates_nothing(deps: Deps) -> None:
    with pytest.raises(Conflict):
        await call(context(deps), "create_ticket", project="OPS", summary="Pager rota", assignee="sam")

    assert await keys_of(await call(context(deps), "search_tickets")) == []


async def test_update_reports_only_what_changed(deps: Deps) -> None:
    key = await ticket(deps, priority="Low", labels=("a",))

    result = await call(context(deps), "update_ticket", key=key, priority="High", labels=["a"])

    assert result == {"updated": key, "changed": {"priority": "High"}}


async def test_update_needs_at_least_one_field(deps: Deps) -> None:
    with pytest.raises(ValidationError, match="at least one"):
        await call(context(deps), "update_ticket", key="OPS-1")


async def test_transition_reports_the_move_and_its_author(deps: Deps) -> None:
    key = await ticket(deps)

    result = await call(context(deps, MAYA), "transition_ticket", key=key, status="in progress")

    assert result == {"key": key, "status": "In Progress", "was": "To Do"}
    [change] = [c for c in await deps.tickets.history(key) if c.field == "status"]
    assert change.author is not None and change.author.id == "maya"


async def test_an_unreachable_status_names_the_reachable_ones(deps: Deps) -> None:
    key = await ticket(deps)

    with pytest.raises(Conflict, match="In Progress, Blocked, Done"):
        await call(context(deps), "transition_ticket", key=key, status="In Review")


@pytest.mark.parametrize(
    ("assignee", "expected"),
    [("me", "Maya Chen"), ("Leo", "Leo Park"), ("priya@example.com", "Priya Nair"), ("sam.lee", "Sam Lee"),
     (None, "unassigned"), ("unassigned", "unassigned")],
)  # fmt: skip
async def test_assign_to_me_a_name_an_email_an_id_or_nobody(
    deps: Deps, assignee: str | None, expected: str
) -> None:
    key = await ticket(deps, assignee_id="sam.ortiz")

    result = await call(context(deps, MAYA), "assign_ticket", key=key, assignee=assignee)

    assert result == {"key": key, "assignee": expected, "was": "Sam Ortiz"}


async def test_writes_to_a_hidden_ticket_are_not_sent(deps: Deps) -> None:
    secret = await ticket(deps, project="SEC")
    ctx = context(deps, visible=frozenset({"OPS"}))

    for name, extra in (("update_ticket", {"priority": "Low"}), ("transition_ticket", {"status": "Done"}),
                        ("assign_ticket", {"assignee": "me"}), ("add_comment", {"body": "hi"})):  # fmt: skip
        with pytest.raises(NotFound):
            await call(ctx, name, key=secret, **extra)

    assert [c.field for c in await deps.tickets.history(secret)] == ["created"]
