"""Database fixtures shared by every test suite (`pytest_plugins = ["tests.support.db"]`).

`db_url` runs a test once on SQLite (a file in tmp_path) and once on PostgreSQL
when PMHUB_TEST_POSTGRES_URL is set. Each PostgreSQL test gets a fresh database
of its own, created on the server and dropped afterwards, so tests never see
each other's rows and can run in any order. With PMHUB_REQUIRE_POSTGRES=1 (CI)
a missing URL fails the PostgreSQL tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.db import asyncpg_dsn, create_engine
from hub.store.migrate import upgrade

POSTGRES_URL_ENV = "PMHUB_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "PMHUB_REQUIRE_POSTGRES"

EngineFactory = Callable[[], AsyncEngine]


def postgres_server_url() -> str:
    """The configured server URL, or skip (fail in CI) when there is none."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return url
    message = f"{POSTGRES_URL_ENV} is not set"
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{message}, but {REQUIRE_POSTGRES_ENV}=1 requires the PostgreSQL tests")
    pytest.skip(message)


@asynccontextmanager
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy URL, drop it afterwards."""
    server = make_url(server_url)
    name = f"pmhub_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(asyncpg_dsn(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(asyncpg_dsn(server))
        try:
            # FORCE: a test that failed mid-way may leave connections open.
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database's URL: SQLite, then PostgreSQL when configured."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "pmhub.db")
        return
    async with fresh_postgres_database(postgres_server_url()) as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database's URL, for tests about several processes."""
    async with fresh_postgres_database(postgres_server_url()) as url:
        yield url


@pytest.fixture
async def engine_factory(db_url: str) -> AsyncIterator[EngineFactory]:
    """Make extra engines on `db_url` (another "replica"); all disposed afterwards."""
    engines: list[AsyncEngine] = []

    def make() -> AsyncEngine:
        engines.append(create_engine(db_url))
        return engines[-1]

    yield make
    for made in engines:
        await made.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated AsyncEngine on `db_url`, disposed afterwards."""
    made = create_engine(db_url)
    try:
        await upgrade(made)
        yield made
    finally:
        await made.dispose()
