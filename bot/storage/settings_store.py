"""Role assignments and admin configuration values, audited.

The `config` table holds one JSON value per key plus two internal rows: `_version`, whose `version` column
increases with every change (each process compares it on every request and reloads when it moved), and
`_seed`, the last bootstrap input applied (so the policy file and environment are re-applied only when they
change). A change is one transaction: version check, values, assignments, one audit row per changed field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bot.errors import Conflict
from bot.storage.base import StoreBase
from bot.storage.tables import AuditRow, ConfigRow, RoleAssignmentRow

VERSION_KEY = "_version"
SEED_KEY = "_seed"


@dataclass(frozen=True)
class ConfigSnapshot:
    """Everything configurable, read in one transaction."""

    version: int
    values: dict[str, Any]
    assignments: dict[str, str]
    seed: dict[str, Any] | None


@dataclass(frozen=True)
class ConfigChange:
    """One changed field, as the audit log records it."""

    field: str
    before: Any
    after: Any


class ConfigQueries(StoreBase):
    """Role assignments and admin configuration values, audited."""

    async def config_version(self) -> int:
        """The configuration version (0 before the first bootstrap); one primary-key read."""

        def _version(session: Session) -> int:
            row = session.get(ConfigRow, VERSION_KEY)
            return row.version if row is not None else 0

        return await self.db.run(_version)

    async def load_config(self) -> ConfigSnapshot:
        """The version, every value, every role assignment and the last seed."""

        def _load(session: Session) -> ConfigSnapshot:
            rows = {row.key: row for row in session.exec(select(ConfigRow))}
            version_row = rows.pop(VERSION_KEY, None)
            seed_row = rows.pop(SEED_KEY, None)
            assignments = {a.user_id: a.role for a in session.exec(select(RoleAssignmentRow))}
            return ConfigSnapshot(
                version=version_row.version if version_row is not None else 0,
                values={key: row.value for key, row in rows.items()},
                assignments=assignments,
                seed=seed_row.value if seed_row is not None else None,
            )

        return await self.db.run(_load)

    async def apply_config(
        self,
        *,
        actor_id: str,
        expected_version: int,
        values: Mapping[str, Any] | None = None,
        assignments: Mapping[str, str | None] | None = None,
        seed: dict[str, Any] | None = None,
        action: str = "config_change",
    ) -> tuple[int, list[ConfigChange]]:
        """Apply values and assignments (None removes one) in one transaction, auditing each changed field.

        Raises Conflict when the version is no longer `expected_version` (someone else changed it first):
        nothing is written. Returns the new version and the changes (none: the version does not move).
        """
        values = dict(values or {})
        assignments = dict(assignments or {})

        def _apply(session: Session) -> tuple[int, list[ConfigChange]]:
            now = self.clock()
            version_row = session.get(ConfigRow, VERSION_KEY)
            current = version_row.version if version_row is not None else 0
            if current != expected_version:
                raise Conflict(f"the configuration changed meanwhile (version {expected_version} → {current})")
            changes = _diff(session, values, assignments)
            seed_row = session.get(ConfigRow, SEED_KEY)
            seed_changed = seed is not None and (seed_row is None or seed_row.value != seed)
            if not changes and not seed_changed and version_row is not None:
                return current, []
            new_version = current + 1
            # Bump first: on PostgreSQL the row lock serialises concurrent changes and the loser's
            # `WHERE version = expected` matches nothing, so it writes nothing.
            if version_row is None:
                session.add(ConfigRow(key=VERSION_KEY, value=None, version=1, updated_at=now, updated_by=actor_id))
                session.flush()
            else:
                stmt = (
                    update(ConfigRow)
                    .where(col(ConfigRow.key) == VERSION_KEY, col(ConfigRow.version) == expected_version)
                    .values(version=new_version, updated_at=now, updated_by=actor_id)
                )
                if session.exec(stmt).rowcount != 1:
                    raise Conflict("the configuration changed meanwhile")
            for change in changes:
                _write(session, change, actor_id=actor_id, now=now)
                session.add(
                    AuditRow(
                        at=now,
                        user_id=actor_id[:32],
                        action=action,
                        target=change.field[:100],
                        status="done",
                        details={"field": change.field, "before": change.before, "after": change.after},
                    )
                )
            if seed_changed:
                if seed_row is None:
                    session.add(ConfigRow(key=SEED_KEY, value=seed, updated_at=now, updated_by=actor_id))
                else:
                    seed_row.value = seed
                    seed_row.updated_at = now
                    session.add(seed_row)
            session.flush()
            return new_version, changes

        try:
            applied = await self.db.run(_apply)
            self.db.config_writes += 1
            return applied
        except (IntegrityError, OperationalError) as exc:
            # Two first bootstraps inserting `_version` at once, or SQLite refusing a concurrent writer.
            raise Conflict("the configuration changed meanwhile") from exc

    async def record_config_denial(self, *, user_id: str, reason: str, details: dict[str, Any]) -> None:
        """Audit a refused configuration attempt (e.g. a forged submission from a non-admin)."""

        def _insert(session: Session) -> None:
            session.add(
                AuditRow(
                    at=self.clock(),
                    user_id=user_id[:32],
                    action="config_denied",
                    status="denied",
                    target=reason[:100],
                    details=details,
                )
            )

        await self.db.run(_insert)

    async def config_audit(self, *, limit: int = 50) -> list[AuditRow]:
        """The latest configuration audit rows (changes and denials), newest first."""

        def _list(session: Session) -> list[AuditRow]:
            stmt = (
                select(AuditRow)
                .where(col(AuditRow.action).in_(("config_change", "config_bootstrap", "config_denied")))
                .order_by(col(AuditRow.id).desc())
                .limit(limit)
            )
            return list(session.exec(stmt))

        return await self.db.run(_list)


def _diff(session: Session, values: dict[str, Any], assignments: dict[str, str | None]) -> list[ConfigChange]:
    changes: list[ConfigChange] = []
    for key in sorted(values):
        if key.startswith("_"):
            raise ValueError(f"{key!r} is an internal configuration key")
        row = session.get(ConfigRow, key)
        before = row.value if row is not None else None
        if before != values[key]:
            changes.append(ConfigChange(field=key, before=before, after=values[key]))
    for user_id in sorted(assignments):
        assigned = session.get(RoleAssignmentRow, user_id)
        before_role = assigned.role if assigned is not None else None
        if before_role != assignments[user_id]:
            changes.append(ConfigChange(field=f"role:{user_id}", before=before_role, after=assignments[user_id]))
    return changes


def _write(session: Session, change: ConfigChange, *, actor_id: str, now: Any) -> None:
    if change.field.startswith("role:"):
        user_id = change.field.removeprefix("role:")
        assigned = session.get(RoleAssignmentRow, user_id)
        if change.after is None:
            if assigned is not None:
                session.delete(assigned)
            return
        if assigned is None:
            assigned = RoleAssignmentRow(user_id=user_id, role=change.after, updated_at=now, updated_by=actor_id)
        else:
            assigned.role = change.after
            assigned.updated_at = now
            assigned.updated_by = actor_id
        session.add(assigned)
        return
    row = session.get(ConfigRow, change.field)
    if row is None:
        row = ConfigRow(key=change.field, value=change.after, version=1, updated_at=now, updated_by=actor_id)
    else:
        row.value = change.after
        row.version += 1
        row.updated_at = now
        row.updated_by = actor_id
    session.add(row)
