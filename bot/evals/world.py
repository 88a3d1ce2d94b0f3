"""The world a task runs in and how its end state is scored.

Each try gets its own SQLite copy of one migrated, demo-seeded template database, with the task's setup
applied through the local store's own write functions. The end state is compared by a stable hash of what
matters — every ticket's status, priority, assignee, labels, summary and comment count, and which tickets exist
— against the start state with the task's expected changes applied; text written by the model (a new ticket's
summary, a comment's body) is checked by containment, since no two models word it alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from bot.evals.tasks import Expect, SetupStep, Task
from bot.storage.db import Database
from bot.storage.tables import CommentRow, TicketRow
from integrations.tickets.base import TicketChanges
from integrations.tickets.local import assign_in, comment_in, transition_in, update_in

Snapshot = dict[str, dict[str, Any]]
"""Ticket key → the fields that matter."""


async def apply_setup(db: Database, steps: list[SetupStep], *, now: datetime) -> None:
    """Apply a task's setup to the seeded store, in one transaction."""

    def run(session: Session) -> None:
        for step in steps:
            if step.transition and step.to:
                transition_in(session, step.transition, step.to, author_id=None, at=now)
            elif step.assign:
                assign_in(session, step.assign, step.to, author_id=None, at=now)
            elif step.comment and step.body:
                comment_in(session, step.comment, step.body, author_id=step.author, via="eval setup", at=now)
            elif step.update:
                changes = TicketChanges(summary=step.summary, description=step.description, priority=step.priority)
                update_in(session, step.update, changes, author_id=None, at=now)
            else:
                raise ValueError(f"setup step does nothing: {step.model_dump(exclude_none=True)}")

    await db.run(run)


async def snapshot(db: Database) -> tuple[Snapshot, dict[str, list[str]]]:
    """The fields that matter of every ticket, and each ticket's comment bodies (oldest first)."""

    def run(session: Session) -> tuple[Snapshot, dict[str, list[str]]]:
        counts = dict(session.exec(select(CommentRow.ticket_key, func.count()).group_by(CommentRow.ticket_key)).all())
        bodies: dict[str, list[str]] = {}
        for key, body in session.exec(select(CommentRow.ticket_key, CommentRow.body).order_by(col(CommentRow.id))).all():
            bodies.setdefault(key, []).append(body)
        tickets: Snapshot = {}
        for row in session.exec(select(TicketRow)).all():
            tickets[row.key] = {
                "project": row.project_key,
                "summary": row.summary,
                "status": row.status,
                "priority": row.priority,
                "assignee": row.assignee_id,
                "labels": sorted(row.labels or []),
                "issue_type": row.issue_type,
                "comments": int(counts.get(row.key, 0)),
            }
        return tickets, bodies

    return await db.run(run)


def state_hash(tickets: Snapshot) -> str:
    """A stable hash of the state that matters (key order and dict order do not count)."""
    canonical = json.dumps({k: tickets[k] for k in sorted(tickets)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def expected_state(before: Snapshot, after: Snapshot, expect: Expect) -> tuple[Snapshot, list[str]]:
    """The start state with the expected changes applied. Created tickets are taken from `after` (their text is
    the model's) once they match an expected creation; unexpected creations stay out, so they fail the hash."""
    out = {key: dict(fields) for key, fields in before.items()}
    for key, change in expect.changes.items():
        fields = out.setdefault(key, {})
        for name in ("status", "priority", "assignee", "labels"):
            value = getattr(change, name)
            if value is not None:
                fields[name] = sorted(value) if name == "labels" else value
        if change.unassigned:
            fields["assignee"] = None
        fields["comments"] = fields.get("comments", 0) + change.comments
    new_keys = sorted((k for k in after if k not in before), key=_key_order)
    unmatched: list[str] = []
    for wanted in expect.created:
        match = next((k for k in new_keys if _matches(after[k], wanted.model_dump())), None)
        if match is None:
            unmatched.append(f"no new ticket matches {wanted.model_dump(exclude_defaults=True)}")
            continue
        out[match] = dict(after[match])
        new_keys.remove(match)
    return out, unmatched


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _matches(fields: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if fields["project"] != wanted["project"]:
        return False
    if not all(contains(fields["summary"], word) for word in wanted["summary_has"]):
        return False
    return all(wanted[name] is None or fields[name] == wanted[name] for name in ("priority", "assignee", "issue_type"))


def contains(text: str, fact: str) -> bool:
    """Case- and space-insensitive, whole-word containment (`OPS-1` is not found in `OPS-13`); `a|b` is
    satisfied by either."""
    haystack = " ".join(text.lower().split())
    for option in fact.split("|"):
        words = " ".join(option.lower().split())
        if not words:
            continue
        before = r"(?<![a-z0-9])" if words[0].isalnum() else ""
        after = r"(?![a-z0-9])" if words[-1].isalnum() else ""
        if re.search(before + re.escape(words) + after, haystack):
            return True
    return False


@dataclass
class Score:
    """How one try did against the task's expectations."""

    passed: bool
    state_ok: bool
    facts_ok: bool
    got_hash: str
    want_hash: str
    problems: list[str] = field(default_factory=list)


def score(task: Task, before: Snapshot, after: Snapshot, bodies_before: dict[str, list[str]], bodies_after: dict[str, list[str]], answer: str, status: str) -> Score:
    """Score one try: the state hash, the words of new comments, the facts of the answer, the status."""
    want, problems = expected_state(before, after, task.expect)
    got_hash, want_hash = state_hash(after), state_hash(want)
    if got_hash != want_hash:
        problems.extend(_diff(want, after))
    for key, change in task.expect.changes.items():
        added = " ".join(bodies_after.get(key, [])[len(bodies_before.get(key, [])) :])
        problems.extend(f"{key}: the new comment does not say {word!r}" for word in change.comment_has if not contains(added, word))
    state_ok = not problems
    missing = [f for f in task.expect.answer if not contains(answer, f)]
    leaked = [f for f in task.expect.answer_not if contains(answer, f)]
    problems.extend(f"the answer does not state {f!r}" for f in missing)
    problems.extend(f"the answer says {f!r}" for f in leaked)
    if task.expect.status is not None and status != task.expect.status:
        problems.append(f"the turn ended {status!r}, expected {task.expect.status!r}")
    elif task.expect.status is None and status not in ("answered", "paused"):
        problems.append(f"the turn ended {status!r}: {' '.join(answer.split())[:160]}")
    facts_ok = not missing and not leaked
    return Score(passed=not problems, state_ok=state_ok, facts_ok=facts_ok, got_hash=got_hash, want_hash=want_hash, problems=problems)


def _diff(want: Snapshot, got: Snapshot) -> list[str]:
    out: list[str] = []
    for key in sorted(set(want) | set(got), key=_key_order):
        if key not in got:
            out.append(f"{key} was expected but not created")
        elif key not in want:
            out.append(f"{key} was created unexpectedly ({got[key]['summary']!r})")
        else:
            for name, value in want[key].items():
                if got[key].get(name) != value:
                    out.append(f"{key}.{name} is {got[key].get(name)!r}, expected {value!r}")
    return out
