"""The program creates and upgrades its schema: append-only migrations, recorded, locked, transactional."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, inspect, text
from sqlmodel import SQLModel

from bot.errors import ConfigError
from bot.storage import tables
from bot.storage.db import Database, make_engine
from bot.storage.migrations import (
    MIGRATIONS,
    Migration,
    applied_migrations,
    m001_initial_schema,
    migrate,
    migrate_sync,
)


def describe_schema(engine: Engine, schema: str | None = None) -> dict[str, dict[str, Any]]:
    """Each table as the database reports it: column types, nullability, keys, unique constraints, indexes."""
    insp = inspect(engine)
    described: dict[str, dict[str, Any]] = {}
    for table in insp.get_table_names(schema=schema):
        if table == "schema_migrations":
            continue
        described[table] = {
            "columns": {
                c["name"]: (str(c["type"].compile(engine.dialect)), c["nullable"])
                for c in insp.get_columns(table, schema=schema)
            },
            "primary_key": insp.get_pk_constraint(table, schema=schema)["constrained_columns"],
            "unique": sorted(
                tuple(u["column_names"]) for u in insp.get_unique_constraints(table, schema=schema)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table, schema=schema)
            ),
            "foreign_keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in insp.get_foreign_keys(table, schema=schema)
            ),
        }
    return described


@pytest.fixture
def sqlmodel_schema(database: Database, tmp_path: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """What `SQLModel.metadata.create_all` makes from bot/storage/tables.py, on the same kind of database."""
    if not database.is_postgres:
        engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
        SQLModel.metadata.create_all(engine)
        yield describe_schema(engine)
        engine.dispose()
        return
    schema = f"ref_{uuid.uuid4().hex[:10]}"
    with database.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        SQLModel.metadata.create_all(conn.execution_options(schema_translate_map={None: schema}))
    try:
        yield describe_schema(database.engine, schema)
    finally:
        with database.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _probe_table(conn: Connection) -> None:
    Table(
        "upgrade_probe", MetaData(), Column("id", Integer, primary_key=True), Column("note", String(50))
    ).create(conn)


def m002_add_probe(conn: Connection) -> None:
    """A later migration, as a future release would append it."""
    _probe_table(conn)


def _insert_project(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            tables.ProjectRow.__table__.insert().values(  # type: ignore[attr-defined]
                key=key, name="Operations", private=False, next_number=1, created_at=datetime.now(UTC)
            )
        )


def _project_keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT key FROM projects ORDER BY key"))]


async def test_migrated_schema_matches_the_sqlmodel_tables(
    database: Database, sqlmodel_schema: dict[str, dict[str, Any]]
) -> None:
    await migrate(database)

    migrated = describe_schema(database.engine)
    assert set(migrated) == set(SQLModel.metadata.tables), "every table in tables.py needs a migration"
    for name, expected in sqlmodel_schema.items():
        assert migrated[name] == expected, f"table {name!r} differs from tables.py"


async def test_migrate_records_each_migration_by_name(database: Database) -> None:
    await migrate(database)

    assert applied_migrations(database.engine) == [m.__name__ for m in MIGRATIONS]


async def test_migrating_again_is_a_no_op_that_keeps_data(database: Database) -> None:
    await migrate(database)
    _insert_project(database.engine, "OPS")
    before = describe_schema(database.engine)

    assert migrate_sync(database.engine) == []

    assert describe_schema(database.engine) == before
    assert _project_keys(database.engine) == ["OPS"]


def test_a_database_at_an_older_version_gets_only_the_missing_migrations(database: Database) -> None:
    migrate_sync(database.engine, [m001_initial_schema])
    _insert_project(database.engine, "OPS")

    applied = migrate_sync(database.engine, [m001_initial_schema, m002_add_probe])

    assert applied == ["m002_add_probe"]
    assert "upgrade_probe" in inspect(database.engine).get_table_names()
    assert applied_migrations(database.engine) == ["m001_initial_schema", "m002_add_probe"]
    assert _project_keys(database.engine) == ["OPS"]


def test_a_database_made_before_migrations_existed_is_adopted_with_its_data(
    database: Database, sqlmodel_schema: dict[str, dict[str, Any]]
) -> None:
    SQLModel.metadata.create_all(database.engine)  # what the pre-migration build did at start-up
    _insert_project(database.engine, "OPS")

    assert migrate_sync(database.engine) == [m.__name__ for m in MIGRATIONS]

    assert describe_schema(database.engine) == sqlmodel_schema
    assert _project_keys(database.engine) == ["OPS"]


def test_a_failing_migration_leaves_the_previous_version_intact(database: Database) -> None:
    def m002_breaks_halfway(conn: Connection) -> None:
        _probe_table(conn)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        migrate_sync(database.engine, [m001_initial_schema, m002_breaks_halfway])

    assert "upgrade_probe" not in inspect(database.engine).get_table_names()
    assert applied_migrations(database.engine) == ["m001_initial_schema"]
    assert migrate_sync(database.engine, [m001_initial_schema, m002_add_probe]) == ["m002_add_probe"]


def test_a_database_from_a_newer_release_is_refused_with_a_clear_message(database: Database) -> None:
    migrate_sync(database.engine, [m001_initial_schema, m002_add_probe])

    with pytest.raises(ConfigError, match=r"newer than this version.*m002_add_probe"):
        migrate_sync(database.engine, [m001_initial_schema])


def test_concurrent_starts_all_succeed_and_apply_each_migration_once(database: Database) -> None:
    runs: list[str] = []
    guard = threading.Lock()

    def m002_counted(conn: Connection) -> None:
        with guard:
            runs.append("m002")
        _probe_table(conn)

    def counted_initial(conn: Connection) -> None:
        with guard:
            runs.append("m001")
        m001_initial_schema(conn)

    counted_initial.__name__ = "m001_initial_schema"
    plan: list[Migration] = [counted_initial, m002_counted]
    starters = 4
    barrier = threading.Barrier(starters)

    def start() -> list[str]:
        barrier.wait(timeout=10)
        return migrate_sync(database.engine, plan)

    with ThreadPoolExecutor(max_workers=starters) as pool:
        results = list(pool.map(lambda _: start(), range(starters)))

    assert sorted(runs) == ["m001", "m002"]
    assert sorted(name for applied in results for name in applied) == ["m001_initial_schema", "m002_counted"]
    assert applied_migrations(database.engine) == ["m001_initial_schema", "m002_counted"]


def test_migration_names_are_unique() -> None:
    names = [m.__name__ for m in MIGRATIONS]
    assert len(names) == len(set(names))


def test_key_columns_widen_for_255_character_project_keys_keeping_rows(database: Database) -> None:
    from bot.storage.migrations import m004_wider_key_columns

    migrate_sync(database.engine, [m001_initial_schema])
    now = datetime.now(UTC)
    with database.engine.begin() as conn:
        conn.execute(tables.AuditRow.__table__.insert().values(at=now, user_id="U1", action="write", target="OPS-1", status="done"))  # type: ignore[attr-defined]
    long_key = "SAMPLE_" + "P" * 248

    migrate_sync(database.engine, [m001_initial_schema, m004_wider_key_columns])

    with database.engine.begin() as conn:
        conn.execute(tables.AuditRow.__table__.insert().values(at=now, user_id="U1", action="write", target=f"{long_key}-1", status="done"))  # type: ignore[attr-defined]
        conn.execute(tables.ScheduleRow.__table__.insert().values(  # type: ignore[attr-defined]
            id="d1", name="n", kind="digest", project_key=long_key, cron="0 9 * * *", timezone="UTC", enabled=True, created_at=now, updated_at=now
        ))  # fmt: skip
        targets = [row[0] for row in conn.execute(text("SELECT target FROM audit_log ORDER BY id"))]
    assert targets == ["OPS-1", f"{long_key}-1"]
