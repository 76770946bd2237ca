"""The recycled PostgreSQL database (tests/support/db.py) really starts each test empty."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from hub.jobs.queue import JobQueue
from hub.store.db import asyncpg_dsn, create_engine
from tests.support.db import _empty

pytestmark = pytest.mark.postgres


async def _enqueue_two(url: str) -> list[int | None]:
    engine = create_engine(url)
    queue = JobQueue(engine)
    try:
        return [await queue.enqueue("noop", {"n": n}) for n in range(2)]
    finally:
        await queue.close()
        await engine.dispose()


async def test_emptying_leaves_no_rows_and_restarts_the_ids(recycled_postgres_url: str) -> None:
    await _empty(recycled_postgres_url)
    assert await _enqueue_two(recycled_postgres_url) == [1, 2]
    # A connection left open (as a killed replica leaves one) must not block the emptying.
    idle = await asyncpg.connect(asyncpg_dsn(make_url(recycled_postgres_url)))
    try:
        await _empty(recycled_postgres_url)
    finally:
        await idle.close()

    conn = await asyncpg.connect(asyncpg_dsn(make_url(recycled_postgres_url)))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        names = [row["tablename"] for row in tables]
        counts = {name: await conn.fetchval(f'SELECT count(*) FROM "{name}"') for name in names}  # noqa: S608
        assert names
        assert set(counts.values()) == {0}, counts
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await conn.close()
    assert await _enqueue_two(recycled_postgres_url) == [1, 2]
