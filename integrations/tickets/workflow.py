"""The local store's workflow: statuses and their categories, allowed transitions, issue types, priorities.

Plain data with no database code, so the local store, its seed and test fakes share one definition."""

from __future__ import annotations

from integrations.tickets.base import Priority, StatusCategory

INITIAL_STATUS = "To Do"

STATUS_CATEGORIES: dict[str, StatusCategory] = {
    "To Do": "todo",
    "In Progress": "in_progress",
    "In Review": "in_progress",
    "Blocked": "in_progress",
    "Done": "done",
}
"""Every status, in board order, with its category."""

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "To Do": ("In Progress", "Blocked", "Done"),
    "In Progress": ("In Review", "Blocked", "To Do", "Done"),
    "In Review": ("Done", "In Progress"),
    "Blocked": ("To Do", "In Progress"),
    "Done": ("To Do",),
}
"""Statuses reachable from each status (Done -> To Do reopens)."""

ISSUE_TYPES = ("Task", "Bug", "Story", "Epic")

PRIORITY_RANK: dict[str, int] = {p.value: rank for rank, p in enumerate(reversed(list(Priority)), start=1)}
"""Highest = 5 ... Lowest = 1; no priority sorts below Lowest (0)."""

HIGH_PRIORITIES = (Priority.HIGHEST.value, Priority.HIGH.value)


def canonical(value: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The choice equal to `value` ignoring case and surrounding spaces, or None."""
    folded = value.strip().casefold()
    return next((c for c in choices if c.casefold() == folded), None)


def status_named(name: str) -> str | None:
    """The workflow status called `name` (any case), or None."""
    return canonical(name, list(STATUS_CATEGORIES))


def category_of(status: str) -> StatusCategory:
    """The category of a workflow status."""
    return STATUS_CATEGORIES[status]


def statuses_in(categories: tuple[StatusCategory, ...]) -> list[str]:
    """Every status whose category is one of `categories`."""
    return [s for s, c in STATUS_CATEGORIES.items() if c in categories]


def reachable_from(status: str) -> tuple[str, ...]:
    """Statuses a ticket in `status` may move to."""
    return TRANSITIONS.get(status, ())


def transition_id(to_status: str) -> str:
    """A stable id for the transition into `to_status` (e.g. 'to-in-progress')."""
    return "to-" + to_status.lower().replace(" ", "-")
