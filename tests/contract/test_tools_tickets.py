"""Contract: the ticket tools behave the same on every backend: filters, "me" and names, visibility, compact
capped results, paging, and writes attributed to the asker."""

from __future__ import annotations

import json

import pytest

from bot.errors import Conflict, NotFound
from bot.messages import tools as tool_text
from tests.unit.ticket_world import MAYA, PRIYA, STRANGER, World, call

from .conftest import backends

PERSON_OF = {"Maya Chen": "maya", "Leo Park": "leo", "Priya Nair": "priya", "Sam Lee": "sam.lee"}


def keys_of(result: dict) -> list[str]:
    return sorted(t["key"] for t in result.get("tickets", []))


# ---------------------------------------------------------------- search_tickets: people


async def test_me_is_the_askers_person(world: World) -> None:
    mine = await world.ticket(assignee="maya")
    await world.ticket(assignee="leo")

    result = await call(world.context(MAYA), "search_tickets", assignee="me")

    assert keys_of(result) == [mine]


async def test_me_is_found_by_the_askers_email_in_any_case(world: World) -> None:
    mine = await world.ticket(assignee="priya")
    await world.ticket(assignee="maya")

    result = await call(world.context(PRIYA), "search_tickets", assignee="my")

    assert keys_of(result) == [mine]


async def test_me_for_an_asker_with_no_person_says_how_to_fix_it(world: World) -> None:
    await world.ticket(assignee="maya")

    with pytest.raises(NotFound) as raised:
        await call(world.context(STRANGER), "search_tickets", assignee="me")

    assert str(raised.value) == tool_text.me_unknown("Visitor")


async def test_reporter_me_finds_what_the_asker_reported(world: World) -> None:
    reported = await world.ticket("Disk alerts on db-3", reporter="maya")
    await world.ticket(reporter="leo")

    result = await call(world.context(MAYA), "search_tickets", reporter="me")

    assert keys_of(result) == [reported]


async def test_a_unique_name_is_used(world: World) -> None:
    leos = await world.ticket(assignee="leo")
    await world.ticket(assignee="maya")

    result = await call(world.context(), "search_tickets", assignee="leo park")

    assert keys_of(result) == [leos]


async def test_an_ambiguous_name_is_a_conflict_listing_the_candidates(world: World) -> None:
    with pytest.raises(Conflict) as raised:
        await call(world.context(), "search_tickets", assignee="Sam")

    assert "Sam Ortiz <sam.ortiz@example.com>" in str(raised.value)
    assert "Sam Lee <sam.lee@example.com>" in str(raised.value)


async def test_an_unknown_name_is_not_found(world: World) -> None:
    with pytest.raises(NotFound) as raised:
        await call(world.context(), "search_tickets", assignee="Zed")

    assert str(raised.value) == tool_text.no_person_matches("Zed")


async def test_unassigned_finds_tickets_without_an_owner(world: World) -> None:
    free = await world.ticket()
    await world.ticket(assignee="maya")

    assert keys_of(await call(world.context(), "search_tickets", assignee="unassigned")) == [free]


# ---------------------------------------------------------------- search_tickets: visibility


async def test_search_without_a_project_stays_within_the_visible_projects(world: World) -> None:
    ops = await world.ticket()
    await world.ticket(project="SEC")

    result = await call(world.context(visible={"OPS", "WEB"}), "search_tickets")

    assert keys_of(result) == [ops]


async def test_the_restriction_is_part_of_the_query_so_pages_stay_full(world: World) -> None:
    visible = [await world.ticket(f"Ops {n}") for n in range(2)]
    world.clock.advance(60)
    for n in range(3):
        await world.ticket(f"Secret {n}", project="SEC")  # newer, so first in the default order

    result = await call(world.context(visible={"OPS"}), "search_tickets", limit=2)

    assert keys_of(result) == sorted(visible)


async def test_a_hidden_project_reads_exactly_like_a_missing_one(world: World) -> None:
    await world.ticket(project="SEC")
    ctx = world.context(visible={"OPS"})

    with pytest.raises(NotFound) as hidden:
        await call(ctx, "search_tickets", project="SEC")
    with pytest.raises(NotFound) as missing:
        await call(ctx, "search_tickets", project="NOPE")

    assert str(hidden.value) == tool_text.project_not_available("SEC")
    assert str(missing.value) == tool_text.project_not_available("NOPE")


async def test_an_unknown_project_without_restriction_is_named_in_the_note(world: World) -> None:
    result = await call(world.context(), "search_tickets", project="NOPE")

    assert result["count"] == 0 and result["note"] == tool_text.project_not_available("NOPE")


async def test_no_visible_project_means_nothing_to_search(world: World) -> None:
    await world.ticket()

    result = await call(world.context(visible=()), "search_tickets")

    assert result == {"count": 0, "note": tool_text.nothing_visible_here()}


# ---------------------------------------------------------------- search_tickets: filters and results


async def test_not_updated_days_uses_the_clock(world: World) -> None:
    old = await world.ticket("Old work")
    world.clock.advance(8 * 86400)
    await world.ticket("Fresh work")

    result = await call(world.context(), "search_tickets", not_updated_days=7)

    assert keys_of(result) == [old]


async def test_pages_of_a_stale_search_continue_while_the_clock_moves(world: World) -> None:
    for n in range(3):
        await world.ticket(f"Old {n}")
    world.clock.advance(8 * 86400)
    ctx = world.context()

    first = await call(ctx, "search_tickets", not_updated_days=7, order_by="key", limit=2)
    world.clock.advance(90)
    second = await call(ctx, "search_tickets", not_updated_days=7, order_by="key", limit=2,
                        page_token=first["next_page_token"])  # fmt: skip

    assert [t["key"] for t in first["tickets"] + second["tickets"]] == ["OPS-1", "OPS-2", "OPS-3"]


async def test_open_high_priority_filters_combine(world: World) -> None:
    urgent = await world.ticket(priority="Highest")
    done = await world.ticket(priority="High")
    await world.ticket(priority="Low")
    await world.tickets.transition_ticket(done, "Done", actor=None)

    result = await call(
        world.context(),
        "search_tickets",
        priority=["Highest", "High"],
        status_category=["todo", "in_progress"],
    )

    assert keys_of(result) == [urgent]


async def test_status_label_and_a_word_filter_together(world: World) -> None:
    wanted = await world.ticket("Checkout returns 502 on retry", labels=("payments",))
    await world.ticket("Checkout returns 502 on retry")  # no label
    await world.ticket("Refunds are slow", labels=("payments",))
    blocked = await world.ticket("Checkout times out when blocked", labels=("payments",))
    await world.tickets.transition_ticket(blocked, "Blocked", actor=None)

    result = await call(
        world.context(), "search_tickets", status=["To Do"], label="payments", text="checkout"
    )

    assert keys_of(result) == [wanted]


async def test_text_finds_every_word_in_any_order(world: World) -> None:
    wanted = await world.ticket("Checkout returns 502 on retry")
    await world.ticket("Checkout is slow")

    result = await call(world.context(), "search_tickets", text="502 checkout")

    assert keys_of(result) == [wanted]


async def test_day_windows_are_whole_utc_days(world: World) -> None:
    world.clock.advance(9 * 3600)  # 23:30 UTC on the 18th: already the 19th for a bot in Berlin
    late = await world.ticket("Late on the 18th")
    world.clock.advance(3600)
    early = await world.ticket("Early on the 19th")
    ctx = world.context()

    before = await call(ctx, "search_tickets", created_before="2026-11-19")
    after = await call(ctx, "search_tickets", created_after="2026-11-19")
    window = await call(ctx, "search_tickets", updated_after="2026-11-18", updated_before="2026-11-19")

    assert (keys_of(before), keys_of(after), keys_of(window)) == ([late], [early], [late])


async def test_order_by_priority_puts_the_most_urgent_first(world: World) -> None:
    for priority in ("Low", "Highest", "Medium"):
        await world.ticket(f"{priority} work", priority=priority)
    ctx = world.context()

    urgent_first = await call(ctx, "search_tickets", order_by="priority")
    least_first = await call(ctx, "search_tickets", order_by="priority", oldest_first=True)

    assert [t["priority"] for t in urgent_first["tickets"]] == ["Highest", "Medium", "Low"]
    assert [t["priority"] for t in least_first["tickets"]] == ["Low", "Medium", "Highest"]


async def test_results_are_one_compact_line_per_ticket(world: World) -> None:
    await world.ticket(assignee="maya", priority="High", description="long text " * 50, labels=("x",))
    await world.ticket("No owner, no priority")

    result = await call(world.context(), "search_tickets", order_by="key")

    assert result["tickets"] == [
        {"key": "OPS-1", "summary": "Rotate the TLS certificates", "status": "To Do", "priority": "High",
         "assignee": "Maya Chen", "updated": "2026-11-18 14:30"},
        {"key": "OPS-2", "summary": "No owner, no priority", "status": "To Do", "assignee": "unassigned",
         "updated": "2026-11-18 14:30"},
    ]  # fmt: skip


async def test_a_large_result_is_cut_to_the_budget_with_a_note(world: World) -> None:
    world.reconfigure(chatops_max_result_chars=1500)
    for n in range(30):
        await world.ticket(f"Ticket number {n} with a fairly long summary to fill the page")

    result = await call(world.context(), "search_tickets", limit=30)

    assert len(json.dumps(result, separators=(",", ":"))) <= 1500
    assert 0 < len(result["tickets"]) < 30
    assert result["note"].startswith(f"Showing {len(result['tickets'])} of 30.")


async def test_pages_continue_with_the_token(world: World) -> None:
    for n in range(5):
        await world.ticket(f"Ticket {n}")
    ctx = world.context()

    first = await call(ctx, "search_tickets", order_by="key", limit=3)
    second = await call(ctx, "search_tickets", order_by="key", limit=3, page_token=first["next_page_token"])

    assert [t["key"] for t in first["tickets"] + second["tickets"]] == [f"OPS-{n}" for n in range(1, 6)]
    assert "next_page_token" not in second


async def test_search_words_are_data_never_query_syntax(world: World) -> None:
    await world.ticket("Leak", project="SEC")
    ops = await world.ticket('Quote " OR project = SEC OR " test')

    found = await call(world.context(visible={"OPS"}), "search_tickets", text='" OR project = SEC OR "')
    nothing = await call(world.context(), "search_tickets", text="x' OR 1=1 -- \\ AND NOT *")

    assert keys_of(found) == [ops]
    assert keys_of(nothing) == []


# ---------------------------------------------------------------- get_ticket


async def test_get_ticket_accepts_a_lower_case_key(world: World) -> None:
    await world.ticket(assignee="maya", reporter="leo")

    result = await call(world.context(), "get_ticket", key="ops-1")

    assert (result["key"], result["assignee"], result["reporter"]) == ("OPS-1", "Maya Chen", "Leo Park")


async def test_a_ticket_in_a_hidden_project_reads_exactly_like_a_missing_one(world: World) -> None:
    secret = await world.ticket(project="SEC")
    ctx = world.context(visible={"OPS"})

    with pytest.raises(NotFound) as hidden:
        await call(ctx, "get_ticket", key=secret)
    with pytest.raises(NotFound) as missing:
        await call(ctx, "get_ticket", key="SEC-99")

    assert str(hidden.value) == tool_text.no_ticket(secret)
    assert str(missing.value) == tool_text.no_ticket("SEC-99")


async def test_a_long_description_is_clipped_with_a_marker(world: World) -> None:
    await world.ticket(description="word " * 2000)

    result = await call(world.context(), "get_ticket", key="OPS-1")

    assert len(result["description"]) < 2100
    assert result["description"].endswith(tool_text.text_cut(2000, 10000))


# ---------------------------------------------------------------- create_ticket


async def test_create_assigns_as_asked_and_records_who_asked(world: World) -> None:
    result = await call(world.context(MAYA), "create_ticket", project="ops", summary="Disk alerts on db-3",
                        issue_type="Bug", priority="High", assignee="me")  # fmt: skip

    created = await world.tickets.get_ticket(result["created"]["key"])
    assert result["created"]["key"] == "OPS-1"
    assert (created.summary, created.issue_type, created.priority) == ("Disk alerts on db-3", "Bug", "High")
    assert created.assignee is not None and created.assignee.id == world.id("maya")
    assert await world.attribution(created.key) == "via Slack by Maya Chen"


@backends("local", "local-postgres")
async def test_the_local_store_makes_the_asker_the_reporter(world: World) -> None:
    result = await call(world.context(MAYA), "create_ticket", project="OPS", summary="Disk alerts on db-3")

    created = await world.tickets.get_ticket(result["created"]["key"])
    assert created.reporter == world.person("maya")


async def test_a_markdown_description_reads_back_the_same(world: World) -> None:
    text = "Steps for **München** 🚨:\n\n- open [the runbook](https://example.com/rb)\n- run `make fix`"

    result = await call(world.context(), "create_ticket", project="OPS", summary="Fix it", description=text)

    assert (await call(world.context(), "get_ticket", key=result["created"]["key"]))["description"] == text


async def test_create_in_a_project_the_backend_lacks_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await call(world.context(), "create_ticket", project="NOPE", summary="Lost")


async def test_create_in_a_hidden_project_creates_nothing(world: World) -> None:
    with pytest.raises(NotFound):
        await call(world.context(visible={"OPS"}), "create_ticket", project="SEC", summary="Leak")

    assert keys_of(await call(world.context(), "search_tickets")) == []


async def test_create_with_an_ambiguous_assignee_creates_nothing(world: World) -> None:
    with pytest.raises(Conflict):
        await call(world.context(), "create_ticket", project="OPS", summary="Pager rota", assignee="sam")

    assert keys_of(await call(world.context(), "search_tickets")) == []


# ---------------------------------------------------------------- update, transition, assign


async def test_update_reports_only_what_changed(world: World) -> None:
    key = await world.ticket(priority="Low", labels=("a",))

    result = await call(world.context(), "update_ticket", key=key, priority="High", labels=["a"])

    assert result == {"updated": key, "changed": {"priority": "High"}}
    assert (await world.tickets.get_ticket(key)).priority == "High"


async def test_update_replaces_the_labels_and_summary(world: World) -> None:
    key = await world.ticket(labels=("a", "b"))

    result = await call(world.context(), "update_ticket", key=key, summary="Rotate certs", labels=["c"])

    assert result == {"updated": key, "changed": {"summary": "Rotate certs", "labels": ["c"]}}


async def test_transition_reports_the_move_and_its_author(world: World) -> None:
    key = await world.ticket()

    result = await call(world.context(MAYA), "transition_ticket", key=key, status="in progress")

    assert result == {"key": key, "status": "In Progress", "was": "To Do"}
    assert (await world.tickets.get_ticket(key)).status == "In Progress"


async def test_an_unreachable_status_names_the_reachable_ones(world: World) -> None:
    key = await world.ticket()

    with pytest.raises(Conflict, match="In Progress, Blocked, Done"):
        await call(world.context(), "transition_ticket", key=key, status="In Review")

    assert (await world.tickets.get_ticket(key)).status == "To Do"


async def test_moving_to_the_current_status_changes_nothing(world: World) -> None:
    key = await world.ticket()
    before = await world.tickets.get_ticket(key)
    world.clock.advance(60)

    result = await call(world.context(), "transition_ticket", key=key, status="To Do")

    assert result == {"key": key, "status": "To Do", "was": "To Do"}
    assert await world.tickets.get_ticket(key) == before


@pytest.mark.parametrize(
    ("assignee", "expected"),
    [("me", "Maya Chen"), ("Leo", "Leo Park"), ("priya@example.com", "Priya Nair"), (None, "unassigned"),
     ("unassigned", "unassigned")],
)  # fmt: skip
async def test_assign_to_me_a_name_an_email_or_nobody(
    world: World, assignee: str | None, expected: str
) -> None:
    key = await world.ticket(assignee="sam.ortiz")

    result = await call(world.context(MAYA), "assign_ticket", key=key, assignee=assignee)

    assert result == {"key": key, "assignee": expected, "was": "Sam Ortiz"}
    assert (await world.tickets.get_ticket(key)).assignee == (
        None if expected == "unassigned" else world.person(PERSON_OF[expected])
    )


async def test_assign_to_a_person_id(world: World) -> None:
    key = await world.ticket(assignee="sam.ortiz")

    result = await call(world.context(), "assign_ticket", key=key, assignee=world.id("sam.lee"))

    assert result == {"key": key, "assignee": "Sam Lee", "was": "Sam Ortiz"}


async def test_assign_to_an_ambiguous_name_changes_nothing(world: World) -> None:
    key = await world.ticket(assignee="leo")

    with pytest.raises(Conflict, match="Sam Lee"):
        await call(world.context(), "assign_ticket", key=key, assignee="sam")

    assert (await world.tickets.get_ticket(key)).assignee == world.person("leo")


async def test_writes_to_a_hidden_ticket_are_not_sent(world: World) -> None:
    secret = await world.ticket(project="SEC")
    before = await world.tickets.get_ticket(secret)
    ctx = world.context(visible={"OPS"})

    for name, extra in (("update_ticket", {"priority": "Low"}), ("transition_ticket", {"status": "Done"}),
                        ("assign_ticket", {"assignee": "me"}), ("add_comment", {"body": "hi"})):  # fmt: skip
        with pytest.raises(NotFound):
            await call(ctx, name, key=secret, **extra)

    assert await world.tickets.get_ticket(secret) == before
