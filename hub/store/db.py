"""Engine construction and the small helpers every store module shares.

One code path serves SQLite (embedded, a single pmhub process) and PostgreSQL
(several replicas). The differences are confined to this module and to the few
places that need dialect-specific SQL (upserts, NOTIFY, advisory locks).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

#: Either an engine (the helper opens and commits its own short transaction) or an
#: open connection (the helper joins the caller's transaction; the caller commits).
Bind = AsyncEngine | AsyncConnection

SQLITE_BUSY_TIMEOUT_MS = 10_000
_READ_ONLY = "pmhub_read_only"  # execution option set by `reading`


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind of time the store accepts)."""
    return datetime.now(UTC)


def is_sqlite(bind: Bind | Connection) -> bool:
    """True when `bind` talks to SQLite (the embedded, single-process mode)."""
    return bind.dialect.name == "sqlite"


def is_postgres(bind: Bind | Connection) -> bool:
    """True when `bind` talks to PostgreSQL (the multi-replica mode)."""
    return bind.dialect.name == "postgresql"


def create_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """Build the AsyncEngine for a database URL.

    SQLite URLs get WAL, a busy timeout, enforced foreign keys and write-locking
    transactions (see `_configure_sqlite`); the parent directory of a file
    database is created so a fresh install starts without manual steps.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, echo=echo)
    # pre_ping: replicas outlive database restarts and failovers.
    return create_async_engine(parsed, echo=echo, pool_pre_ping=True)


def _create_sqlite_engine(url: URL, *, echo: bool) -> AsyncEngine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if in_memory:
        # Every connection to ":memory:" is a different database; share one.
        engine = create_async_engine(url, echo=echo, poolclass=StaticPool)
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo)
    _configure_sqlite(engine, wal=not in_memory)
    return engine


def sqlite_pragmas(*, wal: bool) -> list[str]:
    """What every connection to a SQLite store runs first (see `_configure_sqlite`)."""
    pragmas = []
    if wal:
        pragmas.append("PRAGMA journal_mode=WAL")
        # FULL: every COMMIT syncs the WAL, so a delivery answered 202 survives a power
        # cut or a kernel crash, not only a crash of pmhub (NORMAL would lose the last
        # commits then). Group commit makes that one sync per batch of deliveries,
        # about 0.25 ms on the benchmark machine.
        pragmas.append("PRAGMA synchronous=FULL")
    pragmas.append(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    pragmas.append("PRAGMA foreign_keys=ON")
    return pragmas


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The database file of a SQLite engine; None for an in-memory one."""
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return str(Path(database).expanduser())


def _configure_sqlite(engine: AsyncEngine, *, wal: bool) -> None:
    """Take over SQLite transaction control from the driver.

    The driver's default (a deferred BEGIN issued lazily before DML) lets two
    transactions both read and then fail with SQLITE_BUSY when they try to write,
    and busy_timeout cannot help with that. Every transaction therefore starts
    with BEGIN IMMEDIATE: writers queue on the busy timeout instead of failing,
    which makes read-then-write sequences (leasing, dedupe) safe. Transactions
    are short, so serialising them costs little in a single process.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            for pragma in sqlite_pragmas(wal=wal):
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A read (`reading`) begins DEFERRED: under WAL it then never takes the write
        # lock, so it neither waits for writers nor makes them wait.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@asynccontextmanager
async def transaction(bind: Bind, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
    """Yield a connection inside a transaction.

    With an engine, a new transaction is opened and committed on success. With a
    connection, the caller's transaction is joined and left for the caller to
    commit; this is how callers make several store writes atomic. `urgent` is for
    the webhook front door: a vendor is waiting for its answer, a job is not.
    """
    if isinstance(bind, AsyncConnection):
        yield bind
        return
    if not is_sqlite(bind):
        async with bind.begin() as conn:
            yield conn
        return
    # SQLite lets one writer in at a time, and one that finds the lock taken sleeps in
    # its busy handler (in growing steps) instead of being woken when it frees: under
    # load that turned into second-long stalls. Writers queue here instead, on an
    # in-process lock that serves urgent ones first (pmhub on SQLite is one process;
    # the busy timeout stays as the backstop for anything outside this path).
    async with writer_lock(bind).held(urgent=urgent), bind.begin() as conn:
        yield conn


@asynccontextmanager
async def reading(bind: Bind) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only, or the caller's own connection.

    On SQLite it takes neither pmhub's writer lock nor SQLite's (a plain BEGIN, see
    `_configure_sqlite`): WAL lets readers in while a writer works, and a read that
    held the write lock would make the webhook front door wait for it.
    """
    if isinstance(bind, AsyncConnection):
        yield bind
        return
    async with bind.connect() as conn:
        await conn.execution_options(**{_READ_ONLY: True})
        yield conn


class _WriterLock:
    """A lock whose urgent waiters go before the others; each class in arrival order."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def held(self, *, urgent: bool) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self._held and not self._urgent and not self._others:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._others).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed the lock just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    (self._urgent if urgent else self._others).remove(waiter)
            raise

    def _release(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # ownership passes straight to the waiter
                    return
        self._held = False


_WRITER_LOCK_ATTRIBUTE = "pmhub_writer_lock"


def writer_lock(engine: AsyncEngine) -> _WriterLock:
    """The engine's own writer lock: it lives and dies with the engine (one per store a
    process opens), so two applications in one process never share one by accident."""
    lock = getattr(engine.sync_engine, _WRITER_LOCK_ATTRIBUTE, None)
    if not isinstance(lock, _WriterLock):
        lock = _WriterLock()
        setattr(engine.sync_engine, _WRITER_LOCK_ATTRIBUTE, lock)
    return lock


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Reject naive datetimes early: a naive time in a scheduler is a latent bug."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def dialect_insert(bind: Bind | Connection, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT that supports ON CONFLICT, for whichever database `bind` is."""
    if is_postgres(bind):
        return pg_insert(table)
    if is_sqlite(bind):
        return sqlite_insert(table)
    raise NotImplementedError(f"unsupported database dialect {bind.dialect.name!r}")


def asyncpg_dsn(url: URL) -> str:
    """The plain libpq-style DSN asyncpg understands, from a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
