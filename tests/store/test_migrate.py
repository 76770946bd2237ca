"""Migrations: idempotent, detectable, race-free across replicas, matching tables.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.db import create_engine
from hub.store.migrate import current_revision, head_revision, is_current, upgrade
from hub.store.tables import audit, metadata
from tests.store.helpers import T0
from tests.support.db import EngineFactory, sqlite_url


async def test_upgrade_is_idempotent_and_is_current(engine_factory: EngineFactory) -> None:
    engine = engine_factory()
    assert await current_revision(engine) is None
    assert not await is_current(engine)
    await upgrade(engine)
    await upgrade(engine)  # a restart: nothing to do, no error
    assert await current_revision(engine) == head_revision()
    assert await is_current(engine)


async def test_migration_creates_exactly_the_declared_schema(engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_timestamps_read_back_as_aware_utc(engine: AsyncEngine) -> None:
    plus_two = timezone(timedelta(hours=2))
    async with engine.begin() as conn:
        await conn.execute(
            insert(audit).values(
                at=T0.astimezone(plus_two),
                subject="s",
                action="a",
                actor="x",
                reason="r",
                detail={},
            )
        )
        at = (await conn.execute(select(audit.c.at))).scalar_one()
    assert at == T0
    assert at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(engine: AsyncEngine) -> None:
    naive = datetime(2024, 6, 3, 9, 0)  # naive on purpose
    with pytest.raises(StatementError, match="naive datetime"):
        async with engine.begin() as conn:
            await conn.execute(
                insert(audit).values(
                    at=naive, subject="s", action="a", actor="x", reason="r", detail={}
                )
            )


async def test_sqlite_file_engine_creates_its_directory_and_sets_pragmas(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "deep" / "er" / "pmhub.db"))
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert (journal, foreign_keys) == ("wal", 1)
        assert busy > 0
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_replicas_upgrading_together_do_not_race(postgres_url: str) -> None:
    engines = [create_engine(postgres_url) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade(e) for e in engines))
        assert all([await is_current(e) for e in engines])
    finally:
        for e in engines:
            await e.dispose()
