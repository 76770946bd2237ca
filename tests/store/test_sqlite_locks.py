"""SQLite: reads stay out of the write lock the webhook front door waits for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.store.db import create_engine, reading, transaction
from hub.store.migrate import upgrade
from hub.store.tables import jobs


def _another_writer_can_begin(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()


@pytest.mark.parametrize("how", ["reading", "transaction"])
async def test_only_writes_take_the_write_lock(tmp_path: Path, how: str) -> None:
    path = tmp_path / "locks.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        context = reading(engine) if how == "reading" else transaction(engine)
        async with context as conn:
            await conn.execute(select(func.count()).select_from(jobs))
            assert _another_writer_can_begin(path) is (how == "reading")
    finally:
        await engine.dispose()
