"""PostgreSQL for tests and benchmarks: a Database confined to a fresh schema, never the shared `public` one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine, event, text

from bot.storage.db import Database, make_engine


def postgres_schema_database(url: str, *, prefix: str = "t") -> Iterator[Database]:
    """Yield a Database on PostgreSQL `url` whose connections use a new schema; the schema is dropped after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.close()
        dbapi_conn.commit()

    try:
        yield Database(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
