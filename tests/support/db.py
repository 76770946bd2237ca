"""Database fixtures shared by every test suite (`pytest_plugins = ["tests.support.db"]`).

`db_url` runs a test once on SQLite (a file in tmp_path) and once on PostgreSQL
when PMHUB_TEST_POSTGRES_URL is set. Either way the test starts with pmhub's schema
and no rows, so tests never see each other's rows and can run in any order.

On PostgreSQL, creating a database costs more than most tests (about 0.6 s, then
0.15 s of migrations, then the drop): each test process (each pytest-xdist worker)
therefore migrates one database of its own once and empties it before every test
that asks for `db_url` (DELETE, sequences restarted: a few milliseconds). A test
that needs a database with nothing in it at all, or that destroys its database,
asks for `empty_db_url` (or `postgres_url`): a fresh one, created and dropped.

With PMHUB_REQUIRE_POSTGRES=1 (CI) a missing URL fails the PostgreSQL tests
instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

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


_BOTH = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=_BOTH)
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it, not even pmhub's schema: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "pmhub.db")
        return
    async with fresh_postgres_database(postgres_server_url()) as url:
        yield url


@pytest.fixture(params=_BOTH)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with pmhub's schema and no rows: SQLite, then PostgreSQL when configured."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "pmhub.db")
        return
    url: str = request.getfixturevalue("recycled_postgres_url")
    await _empty(url)
    yield url


@pytest.fixture(scope="session")
def recycled_postgres_url() -> Iterator[str]:
    """This test process's own migrated PostgreSQL database (see the module docstring)."""
    server = postgres_server_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"pmhub_test_{worker}_{os.getpid()}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    _in_own_loop(_create_migrated(server, name, url))
    yield url
    _in_own_loop(_drop(server, name))


def _in_own_loop(work: Any) -> None:
    """Run a coroutine to the end in a loop of its own (the test's loop is busy)."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, work).result()


async def _create_migrated(server_url: str, name: str, url: str) -> None:
    await _drop(server_url, name)
    admin = await asyncpg.connect(asyncpg_dsn(make_url(server_url)))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _drop(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(make_url(server_url)))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _empty(url: str) -> None:
    """No rows in any table, identities restarted; the schema (and its version) stays.

    Connections a previous test left open (a killed replica's, say) are closed first,
    so nothing it holds can block the emptying.

    DELETE, not TRUNCATE: on tables this small TRUNCATE costs about 0.2 s (it makes and
    syncs new files for every table and index), DELETE a few milliseconds, and this runs
    before every PostgreSQL test. Foreign keys are not checked meanwhile (every row goes),
    and the sequences restart as TRUNCATE .. RESTART IDENTITY would restart them.
    """
    conn = await asyncpg.connect(asyncpg_dsn(make_url(url)))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        sequences = await conn.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
        )
        statements = [
            "SET session_replication_role = replica",  # no foreign-key triggers
            # The names come from pg_tables, not from a user.
            *(f'DELETE FROM "{row["tablename"]}"' for row in tables),  # noqa: S608
            *(f'ALTER SEQUENCE "{row["sequencename"]}" RESTART' for row in sequences),
            "SET session_replication_role = DEFAULT",
        ]
        await conn.execute(";\n".join(statements))
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database's URL, for tests about several processes."""
    async with fresh_postgres_database(postgres_server_url()) as url:
        yield url


@pytest.fixture
async def engine_factory(empty_db_url: str) -> AsyncIterator[EngineFactory]:
    """Make extra engines on an empty database (another "replica"); all disposed afterwards."""
    engines: list[AsyncEngine] = []

    def make() -> AsyncEngine:
        engines.append(create_engine(empty_db_url))
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
