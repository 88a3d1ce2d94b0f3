"""Demo data for the local store: an Operations project (OPS), a private Security project (SEC), 24 tickets.

Dates are relative to `now`, so the demo always has fresh work, stale work (no update for more than a week),
blocked and high-priority tickets, and one long incident thread for the summarizer. Everything is written in
one transaction through the local store's own write functions (so history rows are real), only into an empty
store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from integrations.tickets.base import NewTicket
from integrations.tickets.local_schema import SessionRunner
from integrations.tickets.local_writes import (
    add_person,
    add_project,
    assign_in,
    comment_in,
    create_in,
    store_is_empty,
    transition_in,
)

VIA = "via demo seed"

PEOPLE = {
    "maya": ("Maya Chen", "maya@example.com"),
    "leo": ("Leo Park", "leo@example.com"),
    "priya": ("Priya Nair", "priya@example.com"),
    "sam": ("Sam Ortiz", "sam@example.com"),
    "ava": ("Ava Brooks", "ava@example.com"),
    "jonas": ("Jonas Weber", "jonas@example.com"),
}

PROJECTS = (("OPS", "Operations", False), ("SEC", "Security", True))


@dataclass(frozen=True)
class DemoTicket:
    """One demo ticket; times are days before `now`."""

    project: str
    summary: str
    issue_type: str
    priority: str
    reporter: str
    assignee: str | None
    created: float
    labels: tuple[str, ...] = ()
    description: str = ""
    moves: tuple[tuple[float, str], ...] = ()
    """(days ago, status) in workflow order."""
    comments: tuple[tuple[float, str, str], ...] = ()
    """(days ago, author handle, body)."""
    custom: tuple[tuple[str, Any], ...] = ()


_INCIDENT_LOG = [
    ("maya", "Paged: checkout API 502 rate at 14% since 09:12 UTC. Taking incident command."),
    ("sam", "Seeing upstream resets from `payments-gw` in the ingress logs."),
    ("leo", "DB looks healthy: p99 4 ms, no lock waits."),
    ("sam", "Ingress pods restarted twice in 10 minutes; memory limit hit at 512Mi."),
    ("maya", "Status page updated: degraded checkout."),
    ("jonas", "Last deploy to ingress was yesterday 17:40: the new Lua plugin for request tracing."),
    ("sam", "Plugin buffers whole request bodies: big carts blow the memory limit."),
    ("maya", "Decision: roll back the ingress to the previous release."),
    ("jonas", "Rollback started."),
    ("jonas", "Rollback done; pods stable at 180Mi."),
    ("sam", "502 rate back under 0.1%."),
    ("maya", "Keeping the incident open for one hour of observation."),
    ("ava", "Support reports 37 customers with failed payments; list in the support channel."),
    ("leo", "No duplicate charges found in the payments table for the window."),
    ("priya", "Finance asks for the exact window: 09:12-10:05 UTC."),
    ("maya", "Observation window passed; no recurrence."),
    ("sam", "Repro in staging: 2 MB cart body -> OOM with the plugin on."),
    ("jonas", "Opened an upstream issue with the plugin maintainers."),
    ("ava", "Customer emails sent with a retry link."),
    ("maya", "Postmortem draft: https://wiki.example.com/postmortems/checkout-502"),
    ("leo", "Action item: memory alerts on ingress at 80% of the limit."),
    ("sam", "Action item: load test with large carts before any ingress plugin change."),
    ("maya", "Moving to review: postmortem needs sign-off from Priya and Jonas."),
]

TICKETS: tuple[DemoTicket, ...] = (
    DemoTicket("OPS", "Rotate TLS certificates for *.example.com", "Task", "High", "leo", "maya", 12,
               ("security", "certificates"),
               "The wildcard certificate expires on the 30th.\n\n"
               "- renew with the CA\n- roll out to the load balancers",
               moves=((10, "In Progress"),),
               comments=((9, "leo", "The CA portal needs the new CSR; it is in the vault (`tls/2026`)."),)),
    DemoTicket("OPS", "PostgreSQL 16 upgrade on db-main", "Story", "Medium", "maya", "leo", 20, ("database",),
               "Upgrade the primary and both replicas; keep downtime under 5 minutes.",
               moves=((15, "In Progress"), (8, "Blocked")),
               comments=((8, "leo", "Blocked on the pg_partman build for 16; waiting for the vendor."),),
               custom=(("story_points", 8),)),
    DemoTicket("OPS", "Flaky deploy pipeline: integration stage times out", "Bug", "Highest", "ava", "sam", 3,
               ("ci", "flaky"), "About 1 run in 5 fails at `integration` after 30 minutes.",
               moves=((2, "In Progress"),),
               comments=((2, "sam", "The test database container starts slowly on the new runners."),
                         (1, "ava", "Happened twice more today on main."))),
    DemoTicket("OPS", "Clean up unused S3 buckets", "Task", "Low", "priya", None, 30, ("cost",),
               "Around 40 buckets have had no reads for 6 months."),
    DemoTicket("OPS", "Pager rota for December", "Task", "Medium", "maya", "priya", 5,
               moves=((3, "In Progress"), (1, "Done"))),
    DemoTicket("OPS", "Backups miss the audit schema", "Bug", "Highest", "leo", "maya", 1,
               ("database", "backup"),
               "The nightly dump uses `--schema=public`; the `audit` schema is never backed up."),
    DemoTicket("OPS", "Grafana dashboards for queue latency", "Story", "Medium", "maya", "ava", 10,
               moves=((9, "In Progress"), (4, "In Review")),
               comments=((4, "ava", "Dashboards ready for review: https://grafana.example.com/d/queues"),),
               custom=(("story_points", 3),)),
    DemoTicket("OPS", "Incident: checkout API returns 502 for large carts", "Bug", "Highest", "maya", "maya",
               2,
               ("incident",), "Customers cannot pay; 502s from the ingress in front of the checkout API.",
               moves=((1.9, "In Progress"), (0.2, "In Review")),
               comments=tuple((1.95 - i * 0.075, who, body) for i, (who, body) in enumerate(_INCIDENT_LOG))),
    DemoTicket("OPS", "Upgrade Kubernetes node pools to 1.31", "Task", "High", "maya", "jonas", 25,
               moves=((22, "In Progress"), (14, "Blocked")),
               comments=((14, "jonas", "Waiting on the vendor's CNI release that supports 1.31."),)),
    DemoTicket("OPS", "Document the on-call handover", "Task", "Low", "maya", "priya", 40,
               moves=((35, "In Progress"), (20, "To Do"))),
    DemoTicket("OPS", "Rate-limit alerts are too noisy", "Bug", "Medium", "leo", "sam", 6, ("alerts",),
               moves=((5, "In Progress"),),
               comments=((3, "sam", "Raised the threshold to 50 req/s per key in staging; watching it."),)),
    DemoTicket("OPS", "Migrate cron jobs to the scheduler service", "Story", "Medium", "maya", "leo", 45,
               moves=((30, "In Progress"), (12, "In Review"), (10, "Done"))),
    DemoTicket("OPS", "Add SLO burn-rate alerts for search", "Story", "High", "maya", None, 4,
               ("alerts", "slo"),
               "Multi-window burn-rate alerts (1h/6h) for the search SLO of 99.5%."),
    DemoTicket("OPS", "Terraform state lock stuck in staging", "Bug", "High", "sam", "jonas", 0.5,
               moves=((0.3, "In Progress"),),
               comments=((0.2, "jonas", "A crashed CI job held the lock; checking before `force-unlock`."),)),
    DemoTicket("OPS", "Renew the PagerDuty contract", "Task", "Lowest", "priya", "ava", 14),
    DemoTicket("OPS", "VPN client fails on macOS 15", "Bug", "Medium", "ava", "sam", 9,
               moves=((8.5, "In Progress"), (7.5, "In Review"))),
    DemoTicket("OPS", "Reduce the Docker image size of the API", "Task", "Low", "leo", "leo", 18,
               moves=((16, "In Progress"), (11, "Done"))),
    DemoTicket("OPS", "Capacity plan for Black Friday", "Epic", "High", "priya", "maya", 21,
               moves=((19, "In Progress"),),
               comments=((1, "maya", "Load test scheduled for Thursday at 3x last year's peak."),)),
    DemoTicket("OPS", "Set log retention to 30 days", "Task", "Medium", "maya", "priya", 8,
               comments=((8, "priya", "Legal confirmed 30 days is enough for application logs."),)),
    DemoTicket("OPS", "Status page shows a resolved incident as ongoing", "Bug", "Medium", "ava", "ava", 2,
               moves=((1.5, "In Progress"), (1, "Done"))),
    DemoTicket("SEC", "Quarterly access review for production", "Task", "High", "maya", "priya", 15,
               moves=((12, "In Progress"),),
               comments=((6, "priya", "12 of 19 teams have confirmed their lists."),)),
    DemoTicket("SEC", "Rotate the leaked CI token", "Bug", "Highest", "jonas", "maya", 3,
               moves=((2.9, "In Progress"), (2.5, "Done"))),
    DemoTicket("SEC", "Pen-test finding: SSRF in the image proxy", "Bug", "Highest", "priya", "jonas", 9,
               moves=((8.5, "Blocked"),),
               comments=((8.5, "jonas", "Blocked until the proxy team ships an allow-list option."),)),
    DemoTicket("SEC", "Enable hardware keys for admins", "Story", "Medium", "priya", None, 30),
)  # fmt: skip


async def seed_demo(db: SessionRunner, *, now: datetime) -> bool:
    """Fill an empty local store with the demo; returns False (changing nothing) when it already has data."""
    try:
        return await db.run(lambda s: _seed(s, now))
    except IntegrityError:
        return False  # another process seeded at the same moment; its rows won


def _seed(session: Session, now: datetime) -> bool:
    if not store_is_empty(session):
        return False
    for key, name, private in PROJECTS:
        add_project(session, key=key, name=name, private=private, at=now - timedelta(days=60))
    for handle, (name, email) in PEOPLE.items():
        add_person(session, id=handle, name=name, email=email)
    for ticket in TICKETS:
        _add(session, ticket, now)
    return True


def _add(session: Session, demo: DemoTicket, now: datetime) -> None:
    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    new = NewTicket(
        project=demo.project,
        summary=demo.summary,
        description=demo.description,
        issue_type=demo.issue_type,
        priority=demo.priority,
        labels=demo.labels,
    )
    key = create_in(
        session, new, reporter_id=demo.reporter, via=VIA, at=ago(demo.created), custom=dict(demo.custom)
    )
    if demo.assignee:
        assign_in(session, key, demo.assignee, author_id=demo.reporter, at=ago(demo.created))
    events = [(days, "move", status, demo.assignee or demo.reporter) for days, status in demo.moves]
    events += [(days, "comment", body, author) for days, author, body in demo.comments]
    for days, kind, value, author in sorted(events, key=lambda e: -e[0]):
        if kind == "move":
            transition_in(session, key, value, author_id=author, at=ago(days))
        else:
            comment_in(session, key, value, author_id=author, via=VIA, at=ago(days))
